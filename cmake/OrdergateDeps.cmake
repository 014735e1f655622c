# Every third-party library comes from Debian 12's packages (see scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(Poco REQUIRED COMPONENTS Foundation Net NetSSL Util JSON Redis Crypto)
find_package(Boost 1.74 REQUIRED COMPONENTS filesystem)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(prometheus-cpp REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(RapidJSON REQUIRED)
find_package(GTest REQUIRED)

# QuickFIX 1.15.1 (libquickfix-dev) for the FIX venue simulator (tools/fix-venue). Optional: the
# targets that need it are built only when it is found. quickfix.pc in Debian's package reports a
# stale version, so the header and the library are found directly.
find_path(QUICKFIX_INCLUDE_DIR quickfix/Session.h)
find_library(QUICKFIX_LIBRARY quickfix)
if(QUICKFIX_INCLUDE_DIR AND QUICKFIX_LIBRARY)
  add_library(QuickFIX::QuickFIX UNKNOWN IMPORTED)
  set_target_properties(QuickFIX::QuickFIX PROPERTIES
    IMPORTED_LOCATION ${QUICKFIX_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${QUICKFIX_INCLUDE_DIR}
    INTERFACE_LINK_LIBRARIES Threads::Threads)
  message(STATUS "QuickFIX: ${QUICKFIX_LIBRARY}")
else()
  message(STATUS "QuickFIX not found (libquickfix-dev): the FIX venue simulator is not built")
endif()

# og_quickfix_sources(src...): the translation units that include QuickFIX headers. Those headers
# use dynamic exception specifications, which C++17 removed, and the library was built with
# std::shared_ptr: such files compile as gnu++14 with HAVE_STD_SHARED_PTR and sit behind a small
# interface of their own (the last -std on the command line wins over the target's).
function(og_quickfix_sources)
  set_source_files_properties(${ARGN} PROPERTIES
    COMPILE_OPTIONS "-std=gnu++14;-Wno-deprecated"
    COMPILE_DEFINITIONS HAVE_STD_SHARED_PTR)
endfunction()
