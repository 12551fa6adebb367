# Run by the fuzz_elf test: make a fresh corpus from the ELF fixtures, then
# fuzz for SECONDS. Inputs: FUZZER, CORPUS, SEED_DIR, SECONDS.
file(REMOVE_RECURSE ${CORPUS})
file(MAKE_DIRECTORY ${CORPUS})
foreach(_seed libktfixlib.so ktfix_nopie ktfix_pie ktfix_stripped ktfix_stripped.debug)
	if(EXISTS ${SEED_DIR}/${_seed})
		file(COPY ${SEED_DIR}/${_seed} DESTINATION ${CORPUS})
	endif()
endforeach()
get_filename_component(_dir ${CORPUS} DIRECTORY)
execute_process(
	COMMAND ${FUZZER} -max_total_time=${SECONDS} -artifact_prefix=${_dir}/ -max_len=65536 -timeout=10
		-rss_limit_mb=2048 -print_final_stats=1 ${CORPUS}
	RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
	message(FATAL_ERROR "fuzz_elf failed (${_rc}); the crashing input is in ${_dir}")
endif()
