# cJSON as a static library, built from Debian's source package of a pinned
# upstream version (Debian ships no static cJSON). Nothing of cJSON is
# committed: the source is fetched into the build tree (or KT_CJSON_DIR, e.g.
# a CI cache) from the Debian repositories apt is configured with, taking the
# newest Debian revision of that version (its security fixes), and the
# upstream tarball is checked against its SHA-256, which no Debian revision
# changes.
set(KT_CJSON_VERSION "1.7.15" CACHE STRING "upstream version of cJSON to build")
set(KT_CJSON_ORIG_SHA256 "5308fd4bd90cef7aa060558514de6a1a4a0819974a26e6ed13973c5f624c24b2"
	CACHE STRING "SHA-256 of cjson_VERSION.orig.tar.gz")
set(KT_CJSON_DIR ${CMAKE_BINARY_DIR}/third_party/cjson CACHE PATH "where cJSON's source is unpacked")

if(NOT EXISTS ${KT_CJSON_DIR}/cJSON.c)
	message(STATUS "Fetching cJSON ${KT_CJSON_VERSION} from Debian's source package")
	execute_process(COMMAND ${CMAKE_SOURCE_DIR}/third_party/fetch-cjson.sh
			${KT_CJSON_VERSION} ${KT_CJSON_ORIG_SHA256} ${KT_CJSON_DIR}
		RESULT_VARIABLE rc)
	if(NOT rc EQUAL 0)
		message(FATAL_ERROR "could not fetch cJSON's source package (cjson ${KT_CJSON_VERSION}, see above); is dpkg-dev installed and a Debian repository configured for apt and reachable?")
	endif()
endif()

add_library(kt_cjson STATIC ${KT_CJSON_DIR}/cJSON.c)
target_include_directories(kt_cjson SYSTEM PUBLIC ${KT_CJSON_DIR})
set_target_properties(kt_cjson PROPERTIES POSITION_INDEPENDENT_CODE ON)
# the same size flags as ktrace's own code (see CMakeLists.txt)
target_compile_options(kt_cjson PRIVATE ${KT_SIZE_FLAGS})
