// The API dispatcher without a server (host/api/api.cpp): its route table is what openapi.json
// documents, a malformed escape in the path is a 400 problem, and /docs serves Swagger UI's files
// from its directory only, or says where they are missing.
#include <gtest/gtest.h>

#include <set>

#include "api/api.hpp"
#include "json/json.hpp"
#include "temp_dir.hpp"

namespace ordergate::api {
namespace {

http::Response get(Api& api, const std::string& path, const std::string& query = "") {
    http::Request req;
    req.method = "GET";
    req.path = path;
    req.query = query;
    req.request_id = "test";
    http::Response res;
    api.handle(req, res);
    return res;
}

std::string code_of(const http::Response& res) {
    json::Value v;
    std::string why;
    if (!json::parse(res.body, &v, &why)) return "<not JSON: " + why + ">";
    const json::Value* c = v.find("code");
    return c ? c->text() : "";
}

std::string detail_of(const http::Response& res) {
    json::Value v;
    std::string why;
    if (!json::parse(res.body, &v, &why)) return "";
    const json::Value* d = v.find("detail");
    return d ? d->text() : "";
}

TEST(RouteTable, IsWhatOpenApiDocuments) {
    Api api(ApiDeps{}, ApiOptions{});
    std::set<std::string> served, documented;
    for (const auto& r : api.routes()) served.insert(r.method + " " + r.pattern);
    json::Value doc;
    std::string why;
    ASSERT_TRUE(json::parse(openapi_document(), &doc, &why)) << why;
    const json::Value* paths = doc.find("paths");
    ASSERT_TRUE(paths && paths->is_object());
    for (const auto& [path, item] : paths->members())
        for (const auto& [method, op] : item.members()) {
            std::string m = method;
            for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            if (m == "GET" || m == "PUT" || m == "POST" || m == "DELETE" || m == "PATCH")
                documented.insert(m + " " + path);
        }
    for (const auto& s : served) EXPECT_TRUE(documented.count(s)) << s << " is not in openapi.json";
    for (const auto& d : documented) EXPECT_TRUE(served.count(d)) << d << " is not routed";
    EXPECT_TRUE(served.count("POST /api/v1/orders"));
    EXPECT_TRUE(served.count("GET /docs/{file}"));
}

TEST(RouteTable, OpenApiDeclaresBearerAuth) {
    json::Value doc;
    std::string why;
    ASSERT_TRUE(json::parse(openapi_document(), &doc, &why)) << why;
    const json::Value* schemes = doc.find("components");
    schemes = schemes ? schemes->find("securitySchemes") : nullptr;
    const json::Value* bearer = schemes ? schemes->find("bearerAuth") : nullptr;
    ASSERT_TRUE(bearer);
    EXPECT_EQ(bearer->find("type")->text(), "http");
    EXPECT_EQ(bearer->find("scheme")->text(), "bearer");
}

TEST(PathEscapes, ADecodedParameterMayHoldASlash) {
    Api api(ApiDeps{}, ApiOptions{});
    // /docs/{file} decodes "..%2Fx" to "../x": the route matches, the name is refused.
    auto r = get(api, "/docs/..%2Fsecret");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(detail_of(r), "no such file");
}

TEST(PathEscapes, AMalformedEscapeIsA400Problem) {
    Api api(ApiDeps{}, ApiOptions{});
    for (const char* path : {"/api/v1/orders/ord_%zz", "/api/v1/orders/%4", "/api/v1/accounts/A%",
                             "/api/v1/orders/x%G0/events", "/docs/a%2"}) {
        auto r = get(api, path);
        EXPECT_EQ(r.status, 400) << path << ": " << r.body;
        EXPECT_EQ(r.content_type, "application/problem+json") << path;
        EXPECT_EQ(code_of(r), "INVALID_PARAMETER") << path;
        EXPECT_NE(detail_of(r).find("percent-escape"), std::string::npos) << path;
    }
    // A path of no route's shape stays 404, escapes or not.
    EXPECT_EQ(get(api, "/nope/%zz").status, 404);
}

TEST(QueryEscapes, AMalformedEscapeIsA400Problem) {
    Api api(ApiDeps{}, ApiOptions{});
    auto r = get(api, "/api/v1/plugins", "cursor=%zz");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(code_of(r), "INVALID_PARAMETER");
    EXPECT_EQ(detail_of(r), "malformed query string");
}

TEST(DocsRoute, MissingFilesAre503NamingTheDirectory) {
    ApiOptions o;
    o.docs_dir = "/nonexistent/ordergate-docs";
    Api api(ApiDeps{}, o);
    for (const char* path : {"/docs", "/docs/swagger-ui-bundle.js"}) {
        auto r = get(api, path);
        EXPECT_EQ(r.status, 503) << path;
        EXPECT_EQ(r.content_type, "application/problem+json");
        EXPECT_EQ(code_of(r), "DOCS_UNAVAILABLE");
        EXPECT_NE(detail_of(r).find("/nonexistent/ordergate-docs"), std::string::npos) << r.body;
        for (const auto& h : r.headers) EXPECT_NE(h.first, "Retry-After");
    }
    Api unset(ApiDeps{}, ApiOptions{});
    auto r = get(unset, "/docs");
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(code_of(r), "DOCS_UNAVAILABLE");
}

TEST(DocsRoute, ServesThePageAndFilesOfItsDirectoryOnly) {
    testing::TempDir dir;
    dir.write("swagger-ui-bundle.js", "window.SwaggerUIBundle = 1;");
    dir.write("swagger-ui.css", "body{}");
    dir.write(".hidden", "no");
    testing::TempDir outside;
    outside.write("secret", "no");
    ApiOptions o;
    o.docs_dir = dir.path().string();
    Api api(ApiDeps{}, o);

    auto page = get(api, "/docs");
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
    EXPECT_NE(page.body.find("docs/swagger-ui-bundle.js"), std::string::npos);
    EXPECT_NE(page.body.find("openapi.json"), std::string::npos);
    EXPECT_EQ(page.body.find("http://"), std::string::npos) << "the page names no other host";
    EXPECT_EQ(page.body.find("https://"), std::string::npos) << "the page names no other host";

    auto js = get(api, "/docs/swagger-ui-bundle.js");
    EXPECT_EQ(js.status, 200);
    EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(js.body, "window.SwaggerUIBundle = 1;");
    auto css = get(api, "/docs/swagger-ui.css");
    EXPECT_EQ(css.status, 200);
    EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
    EXPECT_EQ(css.body, "body{}");

    const std::string escape = "..%2F" + outside.path().filename().string() + "%2Fsecret";
    for (const std::string& path : {std::string("/docs/missing.js"), std::string("/docs/.hidden"),
                                    "/docs/" + escape, std::string("/docs/%2Fetc%2Fpasswd")}) {
        auto r = get(api, path);
        EXPECT_EQ(r.status, 404) << path << ": " << r.body;
        EXPECT_EQ(code_of(r), "NOT_FOUND") << path;
    }
}

}  // namespace
}  // namespace ordergate::api
