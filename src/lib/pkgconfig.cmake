# SPDX-License-Identifier: MIT
# Runs at install time ("cmake --install", "make install"): writes shmfs.pc
# for the prefix being installed to, which "cmake --install --prefix" may
# change after configuration, and installs it. The install(CODE) before
# this script sets SHMFS_PC_TEMPLATE, SHMFS_PC_STAGE, SHMFS_VERSION,
# SHMFS_LIBDIR and SHMFS_INCLUDEDIR.
set(prefix "${CMAKE_INSTALL_PREFIX}")
foreach(kind LIBDIR INCLUDEDIR)
	if(IS_ABSOLUTE "${SHMFS_${kind}}")
		set(SHMFS_PC_${kind} "${SHMFS_${kind}}")
		set(abs_${kind} "${SHMFS_${kind}}")
	else()
		set(SHMFS_PC_${kind} "\${prefix}/${SHMFS_${kind}}")
		set(abs_${kind} "${prefix}/${SHMFS_${kind}}")
	endif()
endforeach()
configure_file("${SHMFS_PC_TEMPLATE}" "${SHMFS_PC_STAGE}/shmfs.pc" @ONLY)
file(INSTALL DESTINATION "${abs_LIBDIR}/pkgconfig" TYPE FILE
	FILES "${SHMFS_PC_STAGE}/shmfs.pc")
