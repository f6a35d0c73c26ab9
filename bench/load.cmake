# load_gen (issue 6): N simulated nodes on one real terril-hub over TLS on
# loopback, one change per second each; prints ack p50/p99, errors, hub CPU
# and peak RSS. Run: build/bench/load_gen [--connections 2000] [--seconds 30]
# (included from bench/CMakeLists.txt)
add_executable(load_gen ${CMAKE_CURRENT_LIST_DIR}/load.cpp)
target_link_libraries(load_gen PRIVATE terril_beast terril_store terril_registry terril_wire terril_proto terril_tls
  terril_core SQLite::SQLite3 Boost::headers Threads::Threads)
add_dependencies(load_gen terril-hub)
