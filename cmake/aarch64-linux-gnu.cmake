# CMake toolchain file: cross-build terril for aarch64 (Raspberry Pi-class
# boxes) on a Debian bookworm amd64 host, against Debian's arm64 packages
# installed with multiarch (`dpkg --add-architecture arm64`; see
# scripts/build-arm64.sh, which installs them).
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#
# Libraries and headers come from the normal system paths: multiarch puts the
# arm64 libraries in /usr/lib/aarch64-linux-gnu, and the headers in
# /usr/include are shared between architectures (arch-specific ones sit in
# /usr/include/aarch64-linux-gnu). Programs (protoc, pkg-config's helpers)
# are the host's: the generated code does not depend on the target.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# find_library() and friends look in lib/aarch64-linux-gnu under each prefix.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Programs (protoc) are the host's: the host protoc is the same version as
# libprotobuf:arm64, which apt guarantees within one Debian release. No sysroot:
# with multiarch the target libraries live beside the host's, under
# lib/aarch64-linux-gnu, which CMAKE_LIBRARY_ARCHITECTURE selects.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# pkg-config for the target: pkgconf:arm64 installs this wrapper, which reads
# the .pc files of /usr/lib/aarch64-linux-gnu/pkgconfig.
find_program(TERRIL_ARM64_PKG_CONFIG aarch64-linux-gnu-pkg-config)
if(TERRIL_ARM64_PKG_CONFIG)
  set(PKG_CONFIG_EXECUTABLE ${TERRIL_ARM64_PKG_CONFIG} CACHE FILEPATH "pkg-config for aarch64")
endif()

# ctest (and catch_discover_tests at build time) run the arm64 test programs
# under user-mode emulation; -L gives qemu the arm64 dynamic loader and libc.
# `-L /` is the multiarch root (libc6:arm64, installed with the :arm64 -dev
# packages): its loader and its libc.so.6 come from one build. `-L
# /usr/aarch64-linux-gnu` started the cross toolchain's loader, which then
# loaded the multiarch libc through the host's ld.so.cache: two builds mixed,
# and new threads and forked children hung. No binfmt_misc registration is
# needed. scripts/build-arm64.sh runs the daemons the same way for the
# integration scenarios (--e2e), through wrappers: `qemu-aarch64-static -L / BIN`.
set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/qemu-aarch64-static -L /)
