// Logging setup for both daemons and their commands (spdlog).
//
// THE RULE: never log personal data or secrets. No first/last names, phones,
// emails, registration notes, passwords, node secrets, proofs, enrolment
// codes or session cookies, not even at debug level. Log ids (record UUIDs,
// node ids, centre ids), counts, sequences and error codes instead.
//
// After init_logging(), log with spdlog's default logger: spdlog::info(...).
#pragma once

#include <string_view>

namespace terril {

// Installs the default spdlog logger named `name` at `level` (trace, debug,
// info, warn, error, critical, off; anything else means info).
// Under systemd (JOURNAL_STREAM set and naming our stderr) records go to the
// journal with their priority and SYSLOG_IDENTIFIER=`name`; otherwise to
// stderr as "2024-05-01 12:00:00.123 [info] message". Call once, early in
// main(), before other threads log.
void init_logging(std::string_view level, std::string_view name);

// True when stderr is connected to the systemd journal (JOURNAL_STREAM
// matches stderr's device:inode).
bool stderr_is_journal();

}  // namespace terril
