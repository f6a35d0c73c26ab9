#include "common/ops/tls.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <vector>

#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

using namespace terril;
using terril::test::file_mode;
using terril::test::read_text;
using terril::test::TempDir;

TEST_CASE("tls: self-signed certificate and key, with modes", "[tls]") {
  TempDir dir;
  std::string cert = dir.file("hub-cert.pem"), key = dir.file("hub-key.pem");
  REQUIRE(generate_self_signed(cert, key, "hub.example", 3650).is_ok());
  CHECK(file_mode(key) == 0600);
  CHECK(file_mode(cert) == 0644);
  CHECK(read_text(cert).starts_with("-----BEGIN CERTIFICATE-----"));
  CHECK(read_text(key).starts_with("-----BEGIN PRIVATE KEY-----"));

  auto fp = cert_fingerprint_pem(cert);
  REQUIRE(fp.is_ok());
  CHECK(fp->size() == 95);
  CHECK(valid_fingerprint(*fp));
  // Stable: the same file always gives the same fingerprint.
  CHECK(*cert_fingerprint_pem(cert) == *fp);

  // A new certificate has another fingerprint.
  REQUIRE(generate_self_signed(cert, key, "hub.example", 3650).is_ok());
  CHECK(*cert_fingerprint_pem(cert) != *fp);
}

TEST_CASE("tls: missing folders are created 0700", "[tls]") {
  TempDir dir;
  REQUIRE(generate_self_signed(dir.file("data/tls/c.pem"), dir.file("data/tls/k.pem"), "localhost", 1).is_ok());
  CHECK(file_mode(dir.file("data/tls")) == 0700);
  CHECK(cert_fingerprint_pem(dir.file("data/tls/c.pem")).is_ok());
}

TEST_CASE("tls: the fingerprint matches the openssl command line", "[tls]") {
  TempDir dir;
  std::string cert = dir.file("c.pem"), key = dir.file("k.pem");
  REQUIRE(generate_self_signed(cert, key, "127.0.0.1", 1).is_ok());
  std::string cmd = "openssl x509 -noout -fingerprint -sha256 -in " + cert + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return;
  char buf[256] = {0};
  std::string out = std::fgets(buf, sizeof buf, p) ? buf : "";
  ::pclose(p);
  if (out.empty()) return;  // no openssl binary
  auto eq = out.find('=');
  REQUIRE(eq != std::string::npos);
  std::string expected = out.substr(eq + 1, 95);
  CHECK(*cert_fingerprint_pem(cert) == expected);

  std::string text_cmd = "openssl x509 -noout -text -in " + cert + " 2>/dev/null | grep -A1 'Subject Alternative'";
  p = ::popen(text_cmd.c_str(), "r");
  std::string text;
  while (std::fgets(buf, sizeof buf, p)) text += buf;
  ::pclose(p);
  CHECK(text.find("DNS:localhost") != std::string::npos);
  CHECK(text.find("IP Address:127.0.0.1") != std::string::npos);
}

TEST_CASE("tls: bad arguments and unreadable files", "[tls]") {
  TempDir dir;
  CHECK(generate_self_signed(dir.file("c"), dir.file("k"), "x", 0).code() == Code::invalid);
  CHECK(generate_self_signed(dir.file("c"), dir.file("k"), "", 1).code() == Code::invalid);
  terril::test::write_text(dir.file("junk.pem"), "not a certificate");
  CHECK(generate_self_signed(dir.file("junk.pem/c"), dir.file("junk.pem/k"), "x", 1).code() == Code::io);
  CHECK(cert_fingerprint_pem(dir.file("missing.pem")).status().code() == Code::io);
  CHECK(cert_fingerprint_pem(dir.file("junk.pem")).status().code() == Code::invalid);
}

TEST_CASE("tls: HMAC-SHA256 matches RFC 4231 test case 2", "[tls]") {
  std::string mac = hmac_sha256("Jefe", "what do ya want for nothing?");
  CHECK(to_hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("tls: SHA-256, hex, constant-time compare, random bytes", "[tls]") {
  CHECK(to_hex(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(fingerprint_der(reinterpret_cast<const unsigned char*>("abc"), 3).substr(0, 8) == "BA:78:16");
  CHECK(*from_hex("00ff10Ab") == std::string("\x00\xff\x10\xab", 4));
  CHECK_FALSE(from_hex("abc").is_ok());
  CHECK_FALSE(from_hex("zz").is_ok());
  CHECK(constant_time_equal("same", "same"));
  CHECK_FALSE(constant_time_equal("same", "sama"));
  CHECK_FALSE(constant_time_equal("same", "same!"));
  CHECK(constant_time_equal("", ""));
  auto a = random_bytes(32), b = random_bytes(32);
  REQUIRE(a.is_ok());
  CHECK(a->size() == 32);
  CHECK(*a != *b);
}

TEST_CASE("tls: atomic write replaces content and sets the mode", "[tls]") {
  TempDir dir;
  std::string f = dir.file("secret");
  terril::test::write_text(f, "old");
  ::chmod(f.c_str(), 0644);
  REQUIRE(write_file_atomic(f, "new", 0600).is_ok());
  CHECK(read_text(f) == "new");
  CHECK(file_mode(f) == 0600);
  CHECK_FALSE(std::filesystem::exists(f + ".tmp"));
}

// Reads back what generate_self_signed wrote, through OpenSSL.
struct CertView {
  std::string cn;
  std::vector<std::string> san;  // "DNS:x" / "IP:1.2.3.4"
  int64_t not_before_s = 0, not_after_s = 0;
};

CertView read_cert(const std::string& path) {
  CertView v;
  FILE* f = std::fopen(path.c_str(), "r");
  REQUIRE(f);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  REQUIRE(cert);
  char cn[128] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  v.cn = cn;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type == GEN_DNS) {
      v.san.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                                           static_cast<size_t>(ASN1_STRING_length(g->d.dNSName))));
    } else if (g->type == GEN_IPADD) {
      char text[64] = {0};
      int len = ASN1_STRING_length(g->d.iPAddress);
      ::inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress), text, sizeof text);
      v.san.push_back(std::string("IP:") + text);
    }
  }
  GENERAL_NAMES_free(names);
  auto secs = [](const ASN1_TIME* t) {
    struct tm tm {};
    ASN1_TIME_to_tm(t, &tm);
    return static_cast<int64_t>(timegm(&tm));
  };
  v.not_before_s = secs(X509_get0_notBefore(cert));
  v.not_after_s = secs(X509_get0_notAfter(cert));
  X509_free(cert);
  return v;
}

TEST_CASE("tls: a spec names the box and dates the certificate from a given time", "[tls]") {
  TempDir dir;
  SelfSignedSpec spec;
  spec.common_name = "cs-lens-1";
  spec.dns_names = {"terril-lens", "terril-lens.local", "cs-lens-1"};  // the CN again: listed once
  spec.ip_addresses = {"192.168.1.20", "2001:db8::20", "127.0.0.1"};
  spec.now_s = 1796000000;  // 2026-11-30
  spec.backdate_days = 365;
  spec.days = 3653;
  REQUIRE(generate_self_signed(dir.file("c.pem"), dir.file("k.pem"), spec).is_ok());
  CHECK(file_mode(dir.file("k.pem")) == 0600);
  CertView v = read_cert(dir.file("c.pem"));
  CHECK(v.cn == "cs-lens-1");
  CHECK(v.san == std::vector<std::string>{"DNS:localhost", "IP:127.0.0.1", "DNS:cs-lens-1", "DNS:terril-lens",
                                          "DNS:terril-lens.local", "IP:192.168.1.20", "IP:2001:db8::20"});
  CHECK(v.not_before_s == spec.now_s - 365 * 86400);
  CHECK(v.not_after_s == spec.now_s + 3653LL * 86400);
}

TEST_CASE("tls: a spec with a name or address that cannot be in a certificate is refused", "[tls]") {
  TempDir dir;
  SelfSignedSpec spec;
  spec.common_name = "box";
  spec.days = 1;
  for (const char* name : {"a,IP:1.2.3.4", "a b", ""}) {
    INFO(name);
    SelfSignedSpec s = spec;
    s.dns_names = {name};
    CHECK(generate_self_signed(dir.file("c.pem"), dir.file("k.pem"), s).code() == Code::invalid);
  }
  SelfSignedSpec s = spec;
  s.ip_addresses = {"999.1.1.1"};
  CHECK(generate_self_signed(dir.file("c.pem"), dir.file("k.pem"), s).code() == Code::invalid);
  s = spec;
  s.backdate_days = -1;
  CHECK(generate_self_signed(dir.file("c.pem"), dir.file("k.pem"), s).code() == Code::invalid);
  CHECK_FALSE(std::filesystem::exists(dir.file("c.pem")));
  CHECK(valid_certificate_dns_name("raspberrypi.local"));
  CHECK_FALSE(valid_certificate_dns_name("pi,DNS:evil"));
}
