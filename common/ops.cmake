# Operations edge of common/: configuration, TLS and crypto helpers, logging,
# systemd notification, node credentials. Included from common/CMakeLists.txt.

# TOML + flags configuration for both daemons.
add_library(terril_config STATIC config.cpp)
target_link_libraries(terril_config PUBLIC terril_core CLI11::CLI11 PRIVATE PkgConfig::TOMLPP)

# OpenSSL helpers: self-signed certificate, fingerprints, HMAC, randomness,
# atomic writes of key material.
add_library(terril_tls STATIC tls.cpp)
target_link_libraries(terril_tls PUBLIC terril_core PRIVATE OpenSSL::Crypto)

# spdlog setup (stderr, or the journal under systemd through its stderr stream).
add_library(terril_log STATIC log.cpp)
target_link_libraries(terril_log PUBLIC terril_spdlog)

# sd_notify(3) for Type=notify units, native (a datagram to $NOTIFY_SOCKET):
# no libsystemd, whose mappings cost about 0.7 MiB of idle RSS.
add_library(terril_sd_notify STATIC sd_notify.cpp)

# The node's credentials.toml.
add_library(terril_credentials STATIC credentials.cpp)
target_link_libraries(terril_credentials PUBLIC terril_core PRIVATE terril_tls PkgConfig::TOMLPP)

# Command-line helpers of the mains (clock, password prompt).
add_library(terril_cli_util STATIC cli_util.cpp)

# All of the above, for the daemons' main().
add_library(terril_ops INTERFACE)
target_link_libraries(terril_ops INTERFACE terril_config terril_tls terril_log terril_sd_notify terril_credentials
  terril_cli_util)
