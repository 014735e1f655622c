# cmake -DINPUT=<file> -DOUTPUT=<file.cpp> -P embed_file.cmake
# Writes a C++ source defining ordergate::config::default_config_yaml() over INPUT's bytes.
# Hex bytes, not a raw string literal, so no content can break the generated code.
file(READ ${INPUT} hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUTPUT}.tmp
"// Generated from configs/default.yaml by host/config/embed_file.cmake. Do not edit.
#include <string_view>

#include \"config/config.hpp\"

namespace ordergate::config {
namespace {
const unsigned char kDefaultYaml[] = {${bytes}0x00};
}  // namespace

std::string_view default_config_yaml() {
    return std::string_view(reinterpret_cast<const char*>(kDefaultYaml), ${size});
}

}  // namespace ordergate::config
")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
