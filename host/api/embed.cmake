# Writes a C++ source holding openapi.json and the /docs page as string literals (run at build
# time).
foreach(var OPENAPI DOCS)
  if(NOT EXISTS "${${var}}")
    message(FATAL_ERROR "missing ${${var}}")
  endif()
  file(READ "${${var}}" content_${var})
endforeach()
file(WRITE "${OUT}.tmp" "// Generated from host/api/openapi.json and host/api/docs/index.html. Do not edit.\n#include \"api/api.hpp\"\nnamespace ordergate::api {\nconst std::string& openapi_document() {\n    static const std::string doc = R\"OGDOC(${content_OPENAPI})OGDOC\";\n    return doc;\n}\nconst std::string& docs_page() {\n    static const std::string page = R\"OGDOC(${content_DOCS})OGDOC\";\n    return page;\n}\n}  // namespace ordergate::api\n")
file(RENAME "${OUT}.tmp" "${OUT}")
