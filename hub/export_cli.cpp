// `terril-hub export` flags (CLI11) -> ExportFilters, and its -o file (see export_cli.h).
#include "hub/export_cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <streambuf>

namespace terril {
namespace {

// An output buffer over a descriptor it owns (closed on destruction).
class FdBuf : public std::streambuf {
 public:
  explicit FdBuf(int fd) : fd_(fd) { setp(buf_, buf_ + sizeof buf_); }
  ~FdBuf() override {
    sync();
    ::close(fd_);
  }

 protected:
  int_type overflow(int_type c) override {
    if (sync() != 0) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override {
    const char* p = pbase();
    while (p < pptr()) {
      ssize_t n = ::write(fd_, p, static_cast<size_t>(pptr() - p));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return -1;
      p += n;
    }
    setp(buf_, buf_ + sizeof buf_);
    return 0;
  }

 private:
  int fd_;
  char buf_[64 * 1024];
};

// The stream with its buffer.
class FdStream : public std::ostream {
 public:
  explicit FdStream(int fd) : std::ostream(nullptr), buf_(fd) { rdbuf(&buf_); }

 private:
  FdBuf buf_;
};

}  // namespace

Result<std::unique_ptr<std::ostream>> open_export_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::io, "cannot write " + path + ": " + std::strerror(errno));
  if (::fchmod(fd, 0600) != 0) {
    int e = errno;
    ::close(fd);
    return Status(Code::io, "cannot chmod " + path + ": " + std::strerror(e));
  }
  return std::unique_ptr<std::ostream>(new FdStream(fd));
}

void add_export_flags(CLI::App& app, ExportFilters& f) {
  app.add_option("--centre", f.centre_id, "Only this centre");
  app.add_option("--agglomeration", f.agglomeration, "valenciennes-metropole | porte-du-hainaut | lens-lievin");
  app.add_option("--event", f.event_id, "Only registrations for this event id");
  app.add_option("--role", f.role, "habitant | benevole | partenaire | salarie | administrateur | institutionnel");
  app.add_option("--attended", f.attended, "true | false");
  app.add_option("--from", f.from, "Created (or, for events, starting) on or after this date, YYYY-MM-DD (Paris)");
  app.add_option("--to", f.to, "... up to this date included, YYYY-MM-DD (Paris)");
  app.add_option("--search", f.q, "Text search");
}

}  // namespace terril
