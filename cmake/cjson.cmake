# cJSON as a static library, built from Debian's source package of a pinned
# version (Debian ships no static cJSON). Nothing of cJSON is committed: the
# source is fetched into the build tree (or KT_CJSON_DIR, e.g. a CI cache).
set(KT_CJSON_VERSION "1.7.15-1+deb12u4" CACHE STRING "Debian version of cjson to build")
set(KT_CJSON_DIR ${CMAKE_BINARY_DIR}/third_party/cjson CACHE PATH "where cJSON's source is unpacked")

if(NOT EXISTS ${KT_CJSON_DIR}/cJSON.c)
	message(STATUS "Fetching cJSON ${KT_CJSON_VERSION} from Debian's source package")
	execute_process(COMMAND ${CMAKE_SOURCE_DIR}/third_party/fetch-cjson.sh
			${KT_CJSON_VERSION} ${KT_CJSON_DIR}
		RESULT_VARIABLE rc)
	if(NOT rc EQUAL 0)
		message(FATAL_ERROR "could not fetch cJSON's source package (apt-get source cjson=${KT_CJSON_VERSION}); is dpkg-dev installed and deb.debian.org reachable?")
	endif()
endif()

add_library(kt_cjson STATIC ${KT_CJSON_DIR}/cJSON.c)
target_include_directories(kt_cjson SYSTEM PUBLIC ${KT_CJSON_DIR})
set_target_properties(kt_cjson PROPERTIES POSITION_INDEPENDENT_CODE ON)
