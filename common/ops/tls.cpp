// OpenSSL helpers (common/ops/tls.h): certificate, fingerprints, HMAC, randomness, key files.
#include "common/ops/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <ctime>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace terril {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;

Status ossl_error(const std::string& what) {
  return Status(Code::internal, what + ": OpenSSL error");
}

bool is_ip_address(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// The subjectAltName value of SelfSignedSpec (tls.h): "DNS:localhost,IP:127.0.0.1,...", each entry once.
Result<std::string> subject_alt_names(const SelfSignedSpec& spec) {
  std::vector<std::string> entries = {"DNS:localhost", "IP:127.0.0.1"};
  auto add = [&](const std::string& entry) {
    if (std::find(entries.begin(), entries.end(), entry) == entries.end()) entries.push_back(entry);
  };
  if (is_ip_address(spec.common_name)) {
    add("IP:" + spec.common_name);
  } else if (valid_certificate_dns_name(spec.common_name)) {
    add("DNS:" + spec.common_name);
  }
  for (const auto& d : spec.dns_names) {
    if (!valid_certificate_dns_name(d))
      return Status(Code::invalid, "certificate DNS name: not a host name: '" + d + "'");
    add("DNS:" + d);
  }
  for (const auto& ip : spec.ip_addresses) {
    if (!is_ip_address(ip)) return Status(Code::invalid, "certificate IP address: not an address: '" + ip + "'");
    add("IP:" + ip);
  }
  std::string san;
  for (const auto& e : entries) san += (san.empty() ? "" : ",") + e;
  return san;
}

bool add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

Result<std::string> bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  if (n < 0) return ossl_error("PEM encoding");
  return std::string(data, static_cast<size_t>(n));
}

Status errno_status(const std::string& what, const std::string& path, int err) {
  return Status(err == ENOSPC ? Code::full : Code::io, what + " " + path + ": " + std::strerror(err));
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Creates the missing folders above `path`, mode 0700 (they hold a key).
Status make_parent_dir(const std::string& path) {
  std::string dir = dir_of(path);
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return Status::ok();
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(Code::io, "cannot create folder " + dir + ": " + ec.message());
  restrict_dir(dir);
  return Status::ok();
}

}  // namespace

bool valid_certificate_dns_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

void restrict_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fchmod(fd, 0700);
  ::close(fd);
}

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp";
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return errno_status("cannot remove stale", tmp, errno);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return errno_status("cannot create", tmp, errno);
  auto fail = [&](const char* what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return errno_status(what, tmp, err);
  };
  // The file may have existed with a looser mode, and umask may be tighter.
  if (::fchmod(fd, mode) != 0) return fail("cannot chmod");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot sync");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_status("cannot close", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_status("cannot rename to", path, err);
  }
  // Make the rename itself durable.
  int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    int rc = ::fsync(dfd);
    int err = errno;
    ::close(dfd);
    if (rc != 0) return errno_status("cannot sync folder of", path, err);
  }
  return Status::ok();
}

Status generate_self_signed(const std::string& cert_path, const std::string& key_path, const std::string& common_name,
                            int days) {
  SelfSignedSpec spec;
  spec.common_name = common_name;
  spec.days = days;
  return generate_self_signed(cert_path, key_path, spec);
}

Status generate_self_signed(const std::string& cert_path, const std::string& key_path, const SelfSignedSpec& spec) {
  const std::string& common_name = spec.common_name;
  if (spec.days <= 0) return Status(Code::invalid, "certificate validity: days must be > 0");
  if (spec.backdate_days < 0) return Status(Code::invalid, "certificate validity: backdate_days must be >= 0");
  if (common_name.empty() || common_name.size() > 64) {
    return Status(Code::invalid, "certificate common name: must be 1..64 characters");
  }
  auto san = subject_alt_names(spec);
  if (!san) return san.status();

  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return ossl_error("EC P-256 key generation");

  X509Ptr cert(X509_new());
  if (!cert) return ossl_error("certificate allocation");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return ossl_error("certificate version");

  // A random positive 127-bit serial.
  auto serial_bytes = random_bytes(16);
  if (!serial_bytes) return serial_bytes.status();
  std::string sb = std::move(serial_bytes).value();
  sb[0] = static_cast<char>(static_cast<unsigned char>(sb[0]) & 0x7f);
  BIGNUM* bn = BN_bin2bn(reinterpret_cast<const unsigned char*>(sb.data()), static_cast<int>(sb.size()), nullptr);
  if (!bn) return ossl_error("certificate serial");
  bool serial_ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr;
  BN_free(bn);
  if (!serial_ok) return ossl_error("certificate serial");

  // Slack backwards for clocks behind (the reader's, or ours at creation).
  time_t now = spec.now_s > 0 ? static_cast<time_t>(spec.now_s) : ::time(nullptr);
  if (!X509_time_adj_ex(X509_getm_notBefore(cert.get()), -spec.backdate_days, 0, &now) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), spec.days, 0, &now)) {
    return ossl_error("certificate validity");
  }
  if (X509_set_pubkey(cert.get(), key.get()) != 1) return ossl_error("certificate public key");

  NamePtr name(X509_NAME_new());
  if (!name ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) != 1 ||
      X509_set_subject_name(cert.get(), name.get()) != 1 || X509_set_issuer_name(cert.get(), name.get()) != 1) {
    return ossl_error("certificate name");
  }

  if (!add_ext(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_ext(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !add_ext(cert.get(), NID_subject_key_identifier, "hash") || !add_ext(cert.get(), NID_subject_alt_name, *san)) {
    return ossl_error("certificate extensions");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return ossl_error("certificate signature");

  BioPtr key_bio(BIO_new(BIO_s_mem()));
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  if (!key_bio || !cert_bio ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
    return ossl_error("PEM encoding");
  }
  auto key_pem = bio_string(key_bio.get());
  if (!key_pem) return key_pem.status();
  auto cert_pem = bio_string(cert_bio.get());
  if (!cert_pem) return cert_pem.status();

  for (const std::string* p : {&key_path, &cert_path}) {
    if (Status st = make_parent_dir(*p); !st) return st;
  }
  // Key first: a certificate on disk always has its key.
  Status st = write_file_atomic(key_path, *key_pem, 0600);
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  if (!st) return st;
  return write_file_atomic(cert_path, *cert_pem, 0644);
}

std::string fingerprint_der(const unsigned char* der, size_t len) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_Digest(der, len, md, &md_len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(md_len * 3);
  for (unsigned int i = 0; i < md_len; ++i) {
    if (i) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

Result<std::string> cert_fingerprint_pem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::io, "cannot read certificate " + path + ": " + std::strerror(errno));
  std::stringstream buf;
  buf << in.rdbuf();
  std::string pem = buf.str();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return ossl_error("reading certificate");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Status(Code::invalid, "not a PEM certificate: " + path);
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  if (len <= 0) return ossl_error("DER encoding");
  std::string fp = fingerprint_der(der, static_cast<size_t>(len));
  OPENSSL_free(der);
  return fp;
}

std::string normalise_fingerprint(std::string_view s) {
  std::string hex, upper;
  bool other = false;
  for (char c : s) {
    const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    upper += u;
    if (std::isxdigit(static_cast<unsigned char>(u)))
      hex += u;
    else if (u != ':' && u != '-' && u != ' ')
      other = true;
  }
  if (other || hex.size() != 64) return upper;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i) out += ':';
    out += hex.substr(i, 2);
  }
  return out;
}

bool valid_fingerprint(std::string_view s) {
  if (s.size() != 95) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i % 3 == 2) {
      if (c != ':') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &md_len);
  return std::string(reinterpret_cast<const char*>(md), md_len);
}

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_Digest(data.data(), data.size(), md, &md_len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), md_len);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> random_bytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return Status(Code::internal, "random bytes: RAND_bytes failed");
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

Result<std::string> from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2) return Status(Code::invalid, "hex: odd length");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return Status(Code::invalid, "hex: not a hex digit");
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

}  // namespace terril
