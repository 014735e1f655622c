// Makes a self-signed certificate and key (PEM files) for TLS tests, with OpenSSL's C API, so
// the tests need no openssl command.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace ordergate::testing {

struct CertFiles {
    std::string cert_pem;
    std::string key_pem;
};

// Writes <dir>/<stem>.crt and <dir>/<stem>.key: an EC P-256 key and a self-signed certificate
// for `common_name` with the subject alternative names `san` ("IP:127.0.0.1", "DNS:x.example").
inline CertFiles make_self_signed(const std::string& dir, const std::string& stem,
                                  const std::string& common_name, const std::string& san) {
    auto check = [](bool ok, const char* what) {
        if (!ok) throw std::runtime_error(std::string("make_self_signed: ") + what);
    };
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("prime256v1"),
                                                            EVP_PKEY_free);
    check(key != nullptr, "key generation");
    std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
    check(x != nullptr, "X509_new");
    X509_set_version(x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
    check(X509_set_pubkey(x.get(), key.get()) == 1, "set_pubkey");
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(x.get(), name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
    for (auto [nid, value] :
         {std::pair<int, std::string>{NID_subject_alt_name, san},
          std::pair<int, std::string>{NID_basic_constraints, "critical,CA:TRUE"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
        check(ext != nullptr, "extension");
        X509_add_ext(x.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    check(X509_sign(x.get(), key.get(), EVP_sha256()) > 0, "sign");

    CertFiles files{dir + "/" + stem + ".crt", dir + "/" + stem + ".key"};
    std::unique_ptr<BIO, decltype(&BIO_free)> cert_out(BIO_new_file(files.cert_pem.c_str(), "w"),
                                                       BIO_free);
    check(cert_out && PEM_write_bio_X509(cert_out.get(), x.get()) == 1, "write certificate");
    std::unique_ptr<BIO, decltype(&BIO_free)> key_out(BIO_new_file(files.key_pem.c_str(), "w"),
                                                      BIO_free);
    check(key_out && PEM_write_bio_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0,
                                              nullptr, nullptr) == 1,
          "write key");
    return files;
}

}  // namespace ordergate::testing
