# Debian packages (CPack DEB): terril-node and terril-hub, one per component.
# Included at the end of the top-level CMakeLists.txt, after the daemons'
# targets exist. Build them with scripts/package.sh [amd64|arm64], or:
#   cmake --build BUILD && (cd BUILD && cpack -G DEB)
#
# Each package holds:
#   /usr/bin/terril-X                          stripped binary
#   /usr/lib/systemd/system/terril-X.service   unit (systemd/)
#   /usr/lib/systemd/system/terril-hub-backup.{service,timer}   hub only: nightly backups
#   /etc/terril/X.toml                         commented defaults (config/), a conffile
#   /usr/share/doc/terril-X/README.md          what the package does and the next steps
#   /usr/share/doc/terril-X/copyright          DEP-5 (packaging/copyright; LICENSE is MIT)
#   /usr/share/doc/terril-X/changelog.gz       packaging/changelog, gzip -9n
#   /usr/share/man/man8/terril-X.8.gz          made at package time from the CLI's help
#                                              (packaging/man/gen-man.sh, help2man)
#   /usr/share/lintian/overrides/terril-X      the lintian tags left, each with its reason
# and maintainer scripts generated from packaging/*.in: postinst creates the
# system user terril-X and /var/lib/terril-X (0700, owned by it; the hub also
# /var/backups/terril-hub) and never enables nor starts the service nor the
# hub's backup timer (on upgrade those running are restarted once); purge
# deletes that state and the user (the hub's backups stay). Their systemd
# calls are those of debhelper's dh_installsystemd --no-enable --no-start
# --restart-after-upgrade (deb-systemd-helper, deb-systemd-invoke); preinst
# refuses a downgrade onto a database migrated past this version's schema.
# `Depends` comes from dpkg-shlibdeps (also for the arm64 cross build, which
# reads the arm64 libraries installed by multiarch).
# The Maintainer field: -DTERRIL_MAINTAINER="Name <mail>" (scripts/package.sh:
# MAINTAINER=...), set by the organisation that deploys the packages.

# Smaller binaries for packaging builds: every function and datum in its own
# section, and the linker drops the unreferenced ones. Applied to every target
# of the project here (this file is included last), so no other CMakeLists
# changes. Safe: no code depends on section layout.
# The optimisation level of such builds is -O2, as Debian builds its packages
# (and, as Debian's, with _FORTIFY_SOURCE=2):
# CMake's Release -O3 inlines more and made terril-node 10% larger (5.21 MiB
# stripped against 4.72 MiB at -O2, amd64) for no gain a sync daemon needs.
# option TERRIL_SLIM: declared in CMakeLists.txt (it also compiles spdlog in).
set(TERRIL_SLIM_OPT "-O2" CACHE STRING "Optimisation flag of TERRIL_SLIM builds (-O2; -Os is smaller and slower)")
# The Beast/Asio edge (terril_beast: common/net/ws_*.cpp) is 75% of
# the daemons' code: template glue waiting on the network. -Os there shrank
# terril-node from 4.72 to 3.48 MiB stripped and its idle RSS by 1.1 MiB
# (amd64). Its cost: Beast's own deflate (permessage-deflate) is compiled in
# those files, so compression is somewhat slower; -O2 here restores it.
set(TERRIL_SLIM_NET_OPT "-Os" CACHE STRING "Optimisation flag of the Beast/Asio edge in TERRIL_SLIM builds")

function(terril_collect_targets dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    terril_collect_targets(${sub} sub_targets)
    list(APPEND targets ${sub_targets})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

# Packed relative relocations (DT_RELR, glibc >= 2.36): on amd64 the dynamic
# loader reads 1.5 KiB instead of 180 KiB of .rela.dyn at every start of
# terril-node, a smaller binary and fewer resident pages. bookworm's aarch64
# cross linker (binutils 2.40) only warns "ignored": warnings fail the check,
# so arm64 builds go without.
include(CheckLinkerFlag)
check_linker_flag(CXX "-Wl,--fatal-warnings,-z,pack-relative-relocs" TERRIL_HAVE_RELR)

# Full RELRO for the daemons (lintian: hardening-no-bindnow): the GOT is
# read-only once the loader resolved every symbol at start.
foreach(t terril-node terril-hub)
  target_link_options(${t} PRIVATE -Wl,-z,relro,-z,now)
endforeach()

if(TERRIL_SLIM)
  terril_collect_targets(${PROJECT_SOURCE_DIR} terril_all_targets)
  foreach(t IN LISTS terril_all_targets)
    get_target_property(type ${t} TYPE)
    if(type MATCHES "^(STATIC_LIBRARY|OBJECT_LIBRARY|EXECUTABLE)$")
      # After CMAKE_CXX_FLAGS_<CONFIG> on the command line, so this -O wins.
      set(opt ${TERRIL_SLIM_OPT})
      if(t STREQUAL "terril_beast")
        set(opt ${TERRIL_SLIM_NET_OPT})
      endif()
      # _FORTIFY_SOURCE=2: the checked libc functions, as Debian's dpkg-buildflags
      # (lintian: hardening-no-fortify-functions).
      target_compile_options(${t} PRIVATE ${opt} -ffunction-sections -fdata-sections
        -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2)
    endif()
    if(type STREQUAL "EXECUTABLE")
      target_link_options(${t} PRIVATE -Wl,--gc-sections -Wl,-O1 -Wl,--as-needed
        $<$<BOOL:${TERRIL_HAVE_RELR}>:-Wl,-z,pack-relative-relocs>)
    endif()
  endforeach()
endif()

# --- Maintainer, changelog -------------------------------------------------------
set(TERRIL_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)
set(TERRIL_DOC_DIR ${PROJECT_SOURCE_DIR}/docs)

# Who answers for the packages: the organisation that builds and deploys them.
# The default is a placeholder (example.org, RFC 2606) that lintian accepts.
set(TERRIL_MAINTAINER "terril developers <terril@example.org>" CACHE STRING
  "Maintainer field of the Debian packages: \"Name <mail>\" of the deploying organisation")
if(NOT TERRIL_MAINTAINER MATCHES "^[^<>@]+ <[^<>@ ]+@[^<>@ ]+\\.[^<>@ ]+>$"
   OR TERRIL_MAINTAINER MATCHES "@(localhost|localdomain)[>.]")
  message(FATAL_ERROR "TERRIL_MAINTAINER=\"${TERRIL_MAINTAINER}\": expected \"Name <user@domain.tld>\" "
    "with a real domain (lintian refuses localhost: bogus-mail-host)")
endif()

# packaging/changelog (Debian format, native package): its top entry must be
# this version, so nobody releases 0.3.0 with a changelog that stops at 0.2.0.
set(TERRIL_CHANGELOG ${TERRIL_PACKAGING_DIR}/changelog)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${TERRIL_CHANGELOG})
file(READ ${TERRIL_CHANGELOG} terril_changelog_top LIMIT 200)
if(NOT terril_changelog_top MATCHES "^terril \\(([^)]+)\\) [a-z-]+; urgency=[a-z]+\n")
  message(FATAL_ERROR "packaging/changelog: the first line is not a Debian changelog entry "
    "(terril (VERSION) DIST; urgency=medium)")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "packaging/changelog: its top entry is version ${CMAKE_MATCH_1}, project(VERSION) is "
    "${PROJECT_VERSION}: add an entry for ${PROJECT_VERSION} (dch -v ${PROJECT_VERSION} -c packaging/changelog)")
endif()
# The top entry's date: the manual pages' date (SOURCE_DATE_EPOCH), so two
# builds of one version make the same pages.
execute_process(COMMAND dpkg-parsechangelog -l ${TERRIL_CHANGELOG} -S Timestamp
  OUTPUT_VARIABLE TERRIL_CHANGELOG_EPOCH OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT TERRIL_CHANGELOG_EPOCH MATCHES "^[0-9]+$")
  message(FATAL_ERROR "packaging/changelog: dpkg-parsechangelog could not read its date (dpkg-dev installed?)")
endif()
# gzip -9n: no name nor time stamp inside, as lintian and reproducible builds want.
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/packaging)
execute_process(COMMAND gzip -9n -c ${TERRIL_CHANGELOG}
  OUTPUT_FILE ${CMAKE_BINARY_DIR}/packaging/changelog.gz RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip -9n packaging/changelog failed")
endif()

# --- What goes in each package -------------------------------------------------
# The daemons' own install() rules carry no component; these put each binary
# in its package (CPACK_COMPONENTS_ALL below leaves the unnamed one out).
install(TARGETS terril-node RUNTIME DESTINATION bin COMPONENT node)
install(TARGETS terril-hub RUNTIME DESTINATION bin COMPONENT hub)

foreach(comp node hub)
  set(pkg terril-${comp})
  # CPack strips with plain `strip`; like dh_strip, also drop .comment and
  # .note (compiler versions; lintian: binary-has-unneeded-section).
  install(CODE "
    if(CMAKE_INSTALL_DO_STRIP)
      execute_process(COMMAND \"${CMAKE_OBJCOPY}\" --remove-section=.comment --remove-section=.note
        \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/bin/${pkg}\" RESULT_VARIABLE rc)
      if(NOT rc EQUAL 0)
        message(FATAL_ERROR \"objcopy of ${pkg} failed\")
      endif()
    endif()" COMPONENT ${comp})
  # The manual page, from the binary being packaged (under the emulator when
  # cross-built): packaging/man/gen-man.sh runs help2man and every subcommand's
  # --help, then adds packaging/man/${pkg}.h2m (EXIT STATUS, FILES, SEE ALSO).
  set(man ${CMAKE_BINARY_DIR}/packaging/man/${pkg}.8.gz)
  install(CODE "
    file(MAKE_DIRECTORY \"${CMAKE_BINARY_DIR}/packaging/man\")
    execute_process(COMMAND \"${CMAKE_COMMAND}\" -E env SOURCE_DATE_EPOCH=${TERRIL_CHANGELOG_EPOCH}
        sh \"${TERRIL_PACKAGING_DIR}/man/gen-man.sh\" ${pkg} \"$<TARGET_FILE:${pkg}>\"
        \"${TERRIL_PACKAGING_DIR}/man/${pkg}.h2m\" \"${man}\" ${CMAKE_CROSSCOMPILING_EMULATOR}
      RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR \"the manual page of ${pkg} could not be made (packaging/man/gen-man.sh)\")
    endif()" COMPONENT ${comp})
  install(FILES ${man} DESTINATION share/man/man8 COMPONENT ${comp}
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  install(FILES ${TERRIL_PACKAGING_DIR}/copyright ${CMAKE_BINARY_DIR}/packaging/changelog.gz
    DESTINATION share/doc/${pkg} COMPONENT ${comp}
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  install(FILES ${TERRIL_PACKAGING_DIR}/lintian/${pkg}
    DESTINATION share/lintian/overrides COMPONENT ${comp}
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  install(FILES ${PROJECT_SOURCE_DIR}/systemd/${pkg}.service
    DESTINATION lib/systemd/system COMPONENT ${comp}
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  # No secret in these files (all commented defaults): 0644 like most of /etc.
  install(FILES ${PROJECT_SOURCE_DIR}/config/${comp}.toml
    DESTINATION /etc/terril COMPONENT ${comp}
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  install(FILES ${TERRIL_PACKAGING_DIR}/README.${comp}.md
    DESTINATION share/doc/${pkg} RENAME README.md COMPONENT ${comp}
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  install(FILES ${PROJECT_SOURCE_DIR}/systemd/README.md
    DESTINATION share/doc/${pkg} RENAME systemd.md COMPONENT ${comp}
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endforeach()
# The hub's nightly backup (systemd/terril-hub-backup.service, .timer).
install(FILES ${PROJECT_SOURCE_DIR}/systemd/terril-hub-backup.service ${PROJECT_SOURCE_DIR}/systemd/terril-hub-backup.timer
  DESTINATION lib/systemd/system COMPONENT hub
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${TERRIL_DOC_DIR}/install-raspberry-pi.md
  DESTINATION share/doc/terril-node COMPONENT node
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# --- Maintainer scripts and conffiles --------------------------------------------
set(TERRIL_NEXT_STEPS_node [=[echo "terril-node is installed but not started: enrol this box first (see /usr/share/doc/terril-node/install-raspberry-pi.md):"
    echo "  sudo -u terril-node terril-node enrol --hub wss://HUB:8443 --code XXXX-XXXX-XXXX"
    echo "  sudo -u terril-node terril-node passwd"
    echo "  sudo systemctl enable --now terril-node"
    echo "  sudo -u terril-node terril-node doctor"]=])
set(TERRIL_NEXT_STEPS_hub [=[echo "terril-hub is installed but not started: initialise it first (see /usr/share/doc/terril-hub/README.md):"
    echo "  sudo -u terril-hub terril-hub init"
    echo "  sudo systemctl enable --now terril-hub"
    echo "  sudo systemctl enable --now terril-hub-backup.timer   # nightly backups to /var/backups/terril-hub"]=])
# The units the maintainer scripts restart on upgrade (if running), stop on
# removal, and the enable symlinks a purge removes; the hub's backup folder.
# The units with an [Install] section, whose enable links deb-systemd-helper
# records at install (update-state) and removes at purge.
set(TERRIL_ENABLE_UNITS_node "terril-node.service")
set(TERRIL_ENABLE_UNITS_hub "terril-hub.service terril-hub-backup.timer")
set(TERRIL_UNITS_node "terril-node.service")
set(TERRIL_UNITS_hub "terril-hub.service terril-hub-backup.timer")
set(TERRIL_STOP_UNITS_node "terril-node.service")
set(TERRIL_STOP_UNITS_hub "terril-hub-backup.timer terril-hub-backup.service terril-hub.service")
set(TERRIL_WANTS_LINKS_node "/etc/systemd/system/multi-user.target.wants/terril-node.service")
set(TERRIL_WANTS_LINKS_hub "/etc/systemd/system/multi-user.target.wants/terril-hub.service /etc/systemd/system/timers.target.wants/terril-hub-backup.timer")
set(TERRIL_BACKUP_DIR_node "")
set(TERRIL_BACKUP_DIR_hub "/var/backups/terril-hub")
set(TERRIL_DESCRIPTION_node "terril node daemon")
set(TERRIL_DESCRIPTION_hub "terril hub daemon")

# The newest database schema this version knows (common/store/schema/NNN_*.sql):
# preinst refuses a downgrade onto a database migrated past it.
file(GLOB TERRIL_SCHEMA_FILES RELATIVE ${PROJECT_SOURCE_DIR}/common/store/schema
  ${PROJECT_SOURCE_DIR}/common/store/schema/[0-9][0-9][0-9]_*.sql)
list(SORT TERRIL_SCHEMA_FILES)
list(GET TERRIL_SCHEMA_FILES -1 TERRIL_SCHEMA_LATEST)
string(SUBSTRING ${TERRIL_SCHEMA_LATEST} 0 3 TERRIL_SCHEMA_LATEST)
math(EXPR SCHEMA "${TERRIL_SCHEMA_LATEST} + 0")
set(VERSION ${PROJECT_VERSION})

foreach(comp node hub)
  set(PKG terril-${comp})
  set(CONFIG ${comp}.toml)
  set(DB ${comp}.db)
  set(NEXT_STEPS "${TERRIL_NEXT_STEPS_${comp}}")
  set(DESCRIPTION "${TERRIL_DESCRIPTION_${comp}}")
  set(UNITS "${TERRIL_UNITS_${comp}}")
  set(ENABLE_UNITS "${TERRIL_ENABLE_UNITS_${comp}}")
  set(STOP_UNITS "${TERRIL_STOP_UNITS_${comp}}")
  set(WANTS_LINKS "${TERRIL_WANTS_LINKS_${comp}}")
  set(BACKUP_DIR "${TERRIL_BACKUP_DIR_${comp}}")
  set(dir ${CMAKE_BINARY_DIR}/packaging/${PKG})
  foreach(script preinst postinst prerm postrm)
    configure_file(${TERRIL_PACKAGING_DIR}/${script}.in ${dir}/${script} @ONLY
      FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  endforeach()
  file(WRITE ${dir}/conffiles "/etc/terril/${CONFIG}\n")
  string(TOUPPER ${comp} COMP)
  set(CPACK_DEBIAN_${COMP}_PACKAGE_CONTROL_EXTRA ${dir}/preinst ${dir}/postinst ${dir}/prerm ${dir}/postrm ${dir}/conffiles)
endforeach()

# --- CPack ---------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME terril)
set(CPACK_PACKAGE_VENDOR "Centres sociaux connectés du bassin minier")
set(CPACK_PACKAGE_CONTACT "${TERRIL_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${TERRIL_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL node hub)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # terril-node_0.2.0_arm64.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# postinst uses groupadd/useradd (passwd) and dpkg-statoverride; the maintainer
# scripts call deb-systemd-helper/-invoke (init-system-helpers: required
# priority, so named, with a version as lintian asks; bookworm has 1.65).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd, init-system-helpers (>= 1.54~)")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|amd64)$")
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE amd64)
endif()

set(CPACK_DEBIAN_NODE_PACKAGE_NAME terril-node)
set(CPACK_DEBIAN_HUB_PACKAGE_NAME terril-hub)
set(CPACK_COMPONENT_NODE_DESCRIPTION "terril node: offline-first registrations and prototype notes for one centre
terril-node runs on the centre's box (Raspberry Pi-class). Reception staff
record registrations and the centre records its prototype notes in a local
web page, with or without network; the node syncs with terril-hub over
WebSocket + TLS when a link is there.")
set(CPACK_COMPONENT_HUB_DESCRIPTION "terril hub: central sync and admin dashboard of the terril centres
terril-hub consolidates the centres' data, routes it back to the nodes,
enrols and revokes their boxes, and serves the admin dashboard, JSON API
and CSV exports.")

include(CPack)
