# Precompiled headers (option TERRIL_PCH): the third-party headers that
# dominate the build's parse time, compiled once per configuration instead of
# once per translation unit. Included at the end of the top-level
# CMakeLists.txt (after every target exists), so no other CMakeLists changes.
#
# scripts/sanitize.sh, build-arm64.sh and test.sh's tsan build turn it on (CI
# has no compiler cache). Not the main -Werror build of scripts/test.sh: GCC 12
# then reports warnings inside system headers reached through the PCH (a false
# -Warray-bounds in std::string's operator+, node/enrol_cmd.cpp), which a build
# without PCH does not. Nor fuzz.sh (clang). Off by default for dev builds: those use ccache, which
# only caches PCH users with sloppiness=pch_defines,time_macros (not set in
# /etc/ccache.conf), and a dev build without PCH also catches a file that
# forgets an include the PCH would have supplied.
#
# Three PCHs, each on an object library with an empty source, shared by
# REUSE_FROM (GCC accepts a PCH only if every macro it saw is defined the same
# way in the user, so each group has the same usage requirements):
#   terril_pch_test  std + nlohmann/json + catch2    every test executable
#   terril_pch_log   std + nlohmann/json + spdlog    product targets linking terril_spdlog
#   terril_beast     its own: Boost.Beast/Asio (+ SSL)
# -Winvalid-pch reports a PCH that GCC refused (the header is then parsed as text).
if(NOT TERRIL_PCH)
  return()
endif()

set(TERRIL_PCH_STD
  <algorithm> <array> <chrono> <cstdint> <cstring> <deque> <filesystem> <fstream> <functional> <map> <memory>
  <optional> <set> <span> <sstream> <string> <string_view> <utility> <variant> <vector>)

set(TERRIL_PCH_EMPTY ${PROJECT_BINARY_DIR}/generated/pch_empty.cpp)
file(WRITE ${TERRIL_PCH_EMPTY} "// Empty: the translation unit that builds a precompiled header (cmake/pch.cmake).\n")

# terril_pch(NAME LINK libs... HEADERS headers...): the PCH holder NAME.
function(terril_pch name)
  cmake_parse_arguments(P "" "" "LINK;HEADERS" ${ARGN})
  add_library(${name} OBJECT ${TERRIL_PCH_EMPTY})
  target_link_libraries(${name} PRIVATE ${P_LINK})
  target_compile_options(${name} PRIVATE -Winvalid-pch)
  target_precompile_headers(${name} PRIVATE ${TERRIL_PCH_STD} ${P_HEADERS})
endfunction()

# terril_pch_reuse(FROM targets...): each existing target uses FROM's PCH.
function(terril_pch_reuse from)
  foreach(t IN LISTS ARGN)
    if(TARGET ${t})
      target_precompile_headers(${t} REUSE_FROM ${from})
      target_compile_options(${t} PRIVATE -Winvalid-pch)
    endif()
  endforeach()
endfunction()

terril_pch(terril_pch_log LINK terril_spdlog nlohmann_json::nlohmann_json
  HEADERS <nlohmann/json.hpp> <spdlog/spdlog.h>)
terril_pch_reuse(terril_pch_log terril_hub_lib terril-hub terril-node terril_daemon terril_node_sync terril_store
  terril_log)

# Beast's TUs: each instantiates one stream type; the headers are the same.
if(TARGET terril_beast)
  target_precompile_headers(terril_beast PRIVATE ${TERRIL_PCH_STD}
    <boost/asio/io_context.hpp> <boost/asio/ip/tcp.hpp> <boost/asio/ssl.hpp> <boost/asio/steady_timer.hpp>
    <boost/asio/strand.hpp> <boost/beast/core.hpp> <boost/beast/http.hpp> <boost/beast/ssl.hpp>
    <boost/beast/websocket.hpp> <boost/beast/websocket/ssl.hpp> <spdlog/spdlog.h>)
  target_compile_options(terril_beast PRIVATE -Winvalid-pch)
endif()

if(TERRIL_TESTS)
  find_package(Catch2 REQUIRED)  # its imported target is local to tests/
  terril_pch(terril_pch_test LINK Catch2::Catch2 nlohmann_json::nlohmann_json
    HEADERS <nlohmann/json.hpp> <catch2/catch.hpp>)
  # Not terril_catch_main: it defines CATCH_CONFIG_MAIN before including catch.hpp.
  get_property(unit_test_targets GLOBAL PROPERTY TERRIL_UNIT_TEST_TARGETS)
  terril_pch_reuse(terril_pch_test ${unit_test_targets} hostile_tests)
endif()
