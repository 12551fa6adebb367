# ktrace's tests on other kernels under qemu (see test/vm/README.md).
#
# Include after enable_testing() and after (or before: generator expressions
# resolve late) the ktrace target is defined, e.g. from test/CMakeLists.txt:
#
#   if(KT_VM_TESTS)
#           include(${CMAKE_CURRENT_SOURCE_DIR}/vm/vm.cmake)
#   endif()
#
# It registers one ctest test per kernel, vm_<kernel> (vm_5.10, vm_6.1,
# vm_6.12, vm_latest), labelled "vm", each booting that Debian kernel with
# the static ktrace binary and running the guest tests.  A test reports
# "skipped" (exit 77) when qemu, busybox-static or the kernel cannot be had.
# Also adds a target "vmtest" that runs all kernels at once, in parallel.
#
# Cache variables:
#   KT_VM_BINARY   the binary under test (default $<TARGET_FILE:ktrace>)
#   KT_VM_KERNELS  kernels, a list of 5.10 6.1 6.12 latest
#   KT_VM_TIMEOUT  seconds one guest may run (default 540: some 40 guest tests)
#   KT_VM_CACHE    kernel and helper cache (default /var/cache/ktrace-vm)
# The includer decides whether to include this at all (option KT_VM_TESTS).

set(KT_VM_BINARY "" CACHE STRING "ktrace binary for the qemu tests (empty: the ktrace target)")
set(KT_VM_KERNELS "5.10;6.1;6.12;latest" CACHE STRING "Kernels for the qemu tests")
set(KT_VM_TIMEOUT 540 CACHE STRING "Seconds one qemu guest may run")
set(KT_VM_CACHE "/var/cache/ktrace-vm" CACHE PATH "Cache of Debian kernels for the qemu tests")

set(_kt_vm_dir "${CMAKE_CURRENT_LIST_DIR}")
if(KT_VM_BINARY)
	set(_kt_vm_bin "${KT_VM_BINARY}")
else()
	set(_kt_vm_bin "$<TARGET_FILE:ktrace>")
endif()
# the guest limit plus time for downloads on a cold cache
math(EXPR _kt_vm_ctest_timeout "${KT_VM_TIMEOUT} + 180")
foreach(_k IN LISTS KT_VM_KERNELS)
	add_test(NAME vm_${_k}
		COMMAND "${_kt_vm_dir}/vmtest.sh" --ktrace "${_kt_vm_bin}"
			--kernels "${_k}" --jobs 1 --timeout "${KT_VM_TIMEOUT}")
	set_tests_properties(vm_${_k} PROPERTIES
		SKIP_RETURN_CODE 77
		TIMEOUT ${_kt_vm_ctest_timeout}
		LABELS vm
		PROCESSORS 1
		ENVIRONMENT "KT_VM_CACHE=${KT_VM_CACHE}")
endforeach()
string(REPLACE ";" " " _kt_vm_kernels "${KT_VM_KERNELS}")
add_custom_target(vmtest
	COMMAND ${CMAKE_COMMAND} -E env "KT_VM_CACHE=${KT_VM_CACHE}"
		"${_kt_vm_dir}/vmtest.sh" --ktrace "${_kt_vm_bin}"
		--kernels "${_kt_vm_kernels}" --timeout "${KT_VM_TIMEOUT}"
	USES_TERMINAL
	COMMENT "Running ktrace's tests on kernels ${_kt_vm_kernels} under qemu")
if(NOT KT_VM_BINARY)
	add_dependencies(vmtest ktrace)
endif()
