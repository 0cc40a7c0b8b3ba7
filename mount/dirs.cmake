# SPDX-License-Identifier: MIT
# Where the helpers and units go for an install prefix. Used at configure
# time for the cache defaults and again at install time, so that
# "cmake --install --prefix DIR" keeps them inside DIR.
#
# mount(8) runs helpers from /sbin only (/usr/sbin once /usr is merged) and
# systemd reads units from its own directories only, so a system prefix
# (/usr, /usr/local) installs them there; any other prefix is a private
# tree, and everything stays under it.

# shmfs_system_dirs(PREFIX PKGCONFIG_UNIT_DIR HELPER_VAR UNIT_VAR)
function(shmfs_system_dirs prefix pc_unit_dir helper_var unit_var)
	string(REGEX REPLACE "(.)/+$" "\\1" prefix "${prefix}")
	if(prefix STREQUAL "/usr" OR prefix STREQUAL "/usr/local")
		set(helper /sbin)
		if(pc_unit_dir)
			set(unit "${pc_unit_dir}")
		else()
			set(unit "${prefix}/lib/systemd/system")
		endif()
	else()
		set(helper "${prefix}/sbin")
		set(unit "${prefix}/lib/systemd/system")
	endif()
	set(${helper_var} "${helper}" PARENT_SCOPE)
	set(${unit_var} "${unit}" PARENT_SCOPE)
endfunction()
