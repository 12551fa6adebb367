# libmicrohttpd (the HTTP server of `ktrace serve`) as a static library,
# built from Debian's source package of a pinned upstream version the way
# cJSON is (third_party/fetch-debsrc.sh: the Debian repositories apt is
# configured with, the newest Debian revision of that version, the upstream
# tarball checked against its SHA-256). Nothing of it is committed.
#
# Configured small: no TLS, no basic or digest authentication, no HTTP
# Upgrade (websockets), no POST processor, no epoll (serve uses poll: no
# FD_SETSIZE limit, and a few hundred connections at most), no sendfile, no
# messages (serve binds the socket itself and says what failed), no
# gettext. What it adds to the binary: build.size prints it.
set(KT_MHD_VERSION "0.9.75" CACHE STRING "upstream version of libmicrohttpd to build")
set(KT_MHD_ORIG_SHA256 "796e7e217a4802679fcac667a4e98501c53185dcf50ca0583870e84192620131"
	CACHE STRING "SHA-256 of libmicrohttpd_VERSION.orig.tar.xz")
set(KT_MHD_DIR ${CMAKE_BINARY_DIR}/third_party/libmicrohttpd CACHE PATH
	"where libmicrohttpd's source is unpacked (kept pristine: it is built out of tree)")

if(NOT EXISTS ${KT_MHD_DIR}/configure)
	message(STATUS "Fetching libmicrohttpd ${KT_MHD_VERSION} from Debian's source package")
	execute_process(COMMAND ${CMAKE_SOURCE_DIR}/third_party/fetch-debsrc.sh libmicrohttpd
			${KT_MHD_VERSION} ${KT_MHD_ORIG_SHA256} ${KT_MHD_DIR}
		RESULT_VARIABLE rc)
	if(NOT rc EQUAL 0)
		message(FATAL_ERROR "could not fetch libmicrohttpd's source package (libmicrohttpd ${KT_MHD_VERSION}, see above); is dpkg-dev installed and a Debian repository configured for apt and reachable?")
	endif()
endif()

include(ExternalProject)
set(KT_MHD_BUILD ${CMAKE_BINARY_DIR}/third_party/mhd-build)
set(KT_MHD_LIB ${KT_MHD_BUILD}/src/microhttpd/.libs/libmicrohttpd.a)
string(REPLACE ";" " " KT_MHD_CFLAGS "-O2 -g ${KT_SIZE_FLAGS}")
ExternalProject_Add(kt_mhd_build
	SOURCE_DIR ${KT_MHD_DIR}
	BINARY_DIR ${KT_MHD_BUILD}
	CONFIGURE_COMMAND ${CMAKE_COMMAND} -E env CC=${CMAKE_C_COMPILER} CFLAGS=${KT_MHD_CFLAGS}
		${KT_MHD_DIR}/configure --quiet --disable-shared --enable-static --with-pic
		--disable-https --without-gnutls --disable-dauth --disable-bauth
		--disable-httpupgrade --disable-postprocessor --disable-epoll --enable-poll
		--disable-sendfile --disable-messages --disable-nls --disable-thread-names
		--disable-doc --disable-examples --disable-curl --disable-dependency-tracking
	BUILD_COMMAND make -C src/microhttpd libmicrohttpd.la
	INSTALL_COMMAND ""
	BUILD_BYPRODUCTS ${KT_MHD_LIB}
	LOG_CONFIGURE ON
	LOG_BUILD ON
	LOG_OUTPUT_ON_FAILURE ON)
add_library(kt_mhd STATIC IMPORTED GLOBAL)
set_target_properties(kt_mhd PROPERTIES IMPORTED_LOCATION ${KT_MHD_LIB})
# microhttpd.h: the source's own (the configure-time options do not change it)
target_include_directories(kt_mhd SYSTEM INTERFACE ${KT_MHD_DIR}/src/include)
add_dependencies(kt_mhd kt_mhd_build)
