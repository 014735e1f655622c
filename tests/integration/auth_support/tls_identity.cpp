#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <stdexcept>

#include "auth_support/auth_testsupport.hpp"

namespace ordergate::auth::testsupport {

namespace {

[[noreturn]] void fail(const std::string& what) {
    ERR_clear_error();
    throw std::runtime_error("testsupport: TLS identity: " + what);
}

void add_ext(X509* cert, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext || X509_add_ext(cert, ext, -1) != 1) fail("extension " + value);
    X509_EXTENSION_free(ext);
}

void write_file(const std::string& path, const std::function<int(FILE*)>& writer) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) fail("cannot write " + path);
    const int ok = writer(f);
    std::fclose(f);
    if (ok != 1) fail("PEM write " + path);
}

}  // namespace

std::shared_ptr<const TlsIdentity> TlsIdentity::self_signed(const std::string& host) {
    static std::atomic<int> counter{0};
    std::shared_ptr<TlsIdentity> id(new TlsIdentity());
    id->dir_ = (std::filesystem::temp_directory_path() /
                ("og-auth-tls-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                   .string();
    std::filesystem::create_directories(id->dir_);
    id->cert_file_ = id->dir_ + "/cert.pem";
    id->key_file_ = id->dir_ + "/key.pem";

    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    if (!key || !cert) fail("allocation");
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    in_addr ip{};
    std::string san = "DNS:" + host;
    if (::inet_pton(AF_INET, host.c_str(), &ip) == 1) san += ",IP:" + host;
    add_ext(cert, NID_subject_alt_name, san);
    add_ext(cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert, NID_key_usage, "critical,digitalSignature,keyCertSign");
    if (X509_sign(cert, key, EVP_sha256()) <= 0) fail("sign");
    write_file(id->cert_file_, [&](FILE* f) { return PEM_write_X509(f, cert); });
    write_file(id->key_file_, [&](FILE* f) {
        return PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    });
    X509_free(cert);
    EVP_PKEY_free(key);
    return id;
}

TlsIdentity::~TlsIdentity() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

}  // namespace ordergate::auth::testsupport
