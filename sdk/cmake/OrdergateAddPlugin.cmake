# ordergate_add_plugin(<name> KIND broker|storage SOURCES <files...>
#                      [OUTPUT_DIRECTORY <dir>] [NO_INSTALL])
#
# Builds an ordergate plugin: a MODULE library `<name>.so` (no "lib" prefix) linked to
# ordergate::sdk, with hidden symbol visibility (only the entry alias is exported), C++17 at least,
# and installed into `lib/ordergate/plugins`. In the ordergate tree the .so goes to
# ${ORDERGATE_PLUGIN_OUTPUT_DIR}; elsewhere to OUTPUT_DIRECTORY, or CMake's default.
# The target is named <name>; add link libraries and sources to it as to any target.
include_guard(GLOBAL)

function(ordergate_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 OGP "NO_INSTALL" "KIND;OUTPUT_DIRECTORY" "SOURCES")
  if(NOT OGP_KIND MATCHES "^(broker|storage)$")
    message(FATAL_ERROR "ordergate_add_plugin(${name}): KIND must be broker or storage")
  endif()
  if(NOT OGP_SOURCES)
    message(FATAL_ERROR "ordergate_add_plugin(${name}): SOURCES is required")
  endif()
  if(OGP_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "ordergate_add_plugin(${name}): unknown arguments ${OGP_UNPARSED_ARGUMENTS}")
  endif()

  add_library(${name} MODULE ${OGP_SOURCES})
  target_link_libraries(${name} PRIVATE ordergate::sdk)
  target_compile_features(${name} PRIVATE cxx_std_17)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON
    ORDERGATE_PLUGIN_KIND ${OGP_KIND})

  if(OGP_OUTPUT_DIRECTORY)
    set(out ${OGP_OUTPUT_DIRECTORY})
  elseif(DEFINED ORDERGATE_PLUGIN_OUTPUT_DIR)
    set(out ${ORDERGATE_PLUGIN_OUTPUT_DIR})
  endif()
  if(out)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${out})
  endif()

  if(NOT OGP_NO_INSTALL)
    include(GNUInstallDirs)
    install(TARGETS ${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/ordergate/plugins)
  endif()
endfunction()
