//! Windows specifics of the portable inventory: whether portghost runs elevated (the
//! Windows counterpart of root), and which services each process hosts.
//!
//! Owns the only Win32 calls of portghost, through `windows-sys`, Microsoft's raw
//! bindings (no safe wrapper covers these two questions without a much larger crate).
//! Each `unsafe` block says why it is sound. It must not judge what it finds, and it
//! never fails a scan: what cannot be asked is simply not known.

#![allow(unsafe_code)]

use std::collections::HashMap;
use windows_sys::Win32::Foundation::{CloseHandle, ERROR_MORE_DATA, GetLastError, HANDLE};
use windows_sys::Win32::Security::{GetTokenInformation, TOKEN_ELEVATION, TOKEN_QUERY, TokenElevation};
use windows_sys::Win32::System::Services::{
    CloseServiceHandle, ENUM_SERVICE_STATUS_PROCESSW, EnumServicesStatusExW, OpenSCManagerW, SC_ENUM_PROCESS_INFO,
    SC_MANAGER_ENUMERATE_SERVICE, SERVICE_ACTIVE, SERVICE_WIN32,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// Whether this process runs elevated: its access token is the full administrator token
/// (started with "Run as administrator", or by an administrator with UAC off, or as a
/// service account such as SYSTEM). Only then can it read every process's details. False
/// when the token cannot be queried.
pub(super) fn elevated() -> bool {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: GetCurrentProcess returns a pseudo-handle that is always valid and needs no
    // closing; `token` is a valid place for the handle OpenProcessToken writes.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return false;
    }
    let mut elevation = TOKEN_ELEVATION { TokenIsElevated: 0 };
    let mut written = 0u32;
    // SAFETY: `token` is open with TOKEN_QUERY; the buffer is one TOKEN_ELEVATION, whose
    // size is passed, and `written` is a valid u32 to write the length to.
    let ok = unsafe {
        GetTokenInformation(
            token,
            TokenElevation,
            (&raw mut elevation).cast(),
            size_of::<TOKEN_ELEVATION>() as u32,
            &mut written,
        )
    };
    // SAFETY: `token` was opened above and is closed exactly once.
    unsafe { CloseHandle(token) };
    ok != 0 && elevation.TokenIsElevated != 0
}

/// The running Win32 services by the PID of the process that hosts them (a `svchost.exe`
/// may host several), each list sorted, from the service control manager
/// (`EnumServicesStatusExW` with `SERVICE_WIN32` and `SERVICE_ACTIVE`). Empty when the
/// service control manager cannot be opened; services with no process (PID 0) are left
/// out. Any user may enumerate services, so this needs no elevation.
pub(super) fn services_by_pid() -> HashMap<u32, Vec<String>> {
    let mut by_pid: HashMap<u32, Vec<String>> = HashMap::new();
    // SAFETY: null machine and database names select the local machine's active
    // database; the handle is checked for null and closed below.
    let manager = unsafe { OpenSCManagerW(std::ptr::null(), std::ptr::null(), SC_MANAGER_ENUMERATE_SERVICE) };
    if manager.is_null() {
        return by_pid;
    }
    // u64 elements keep the records (which hold pointers) aligned.
    let mut buffer: Vec<u64> = vec![0; 8 * 1024];
    let mut resume = 0u32;
    // Bounded, in case the service control manager keeps answering "more data".
    for _ in 0..64 {
        let bytes = u32::try_from(buffer.len() * 8).unwrap_or(u32::MAX);
        let (mut needed, mut count) = (0u32, 0u32);
        // SAFETY: the buffer is writable for `bytes` bytes and 8-byte aligned; `needed`,
        // `count` and `resume` are valid u32s; a null group name means every group.
        let ok = unsafe {
            EnumServicesStatusExW(
                manager,
                SC_ENUM_PROCESS_INFO,
                SERVICE_WIN32,
                SERVICE_ACTIVE,
                buffer.as_mut_ptr().cast(),
                bytes,
                &mut needed,
                &mut count,
                &mut resume,
                std::ptr::null(),
            )
        };
        // SAFETY: GetLastError only reads this thread's last error.
        let more = ok == 0 && unsafe { GetLastError() } == ERROR_MORE_DATA;
        if ok == 0 && !more {
            break;
        }
        // SAFETY: on success and on ERROR_MORE_DATA the buffer starts with `count`
        // ENUM_SERVICE_STATUS_PROCESSW records (SC_ENUM_PROCESS_INFO), which fit in it.
        let records = unsafe {
            std::slice::from_raw_parts(buffer.as_ptr().cast::<ENUM_SERVICE_STATUS_PROCESSW>(), count as usize)
        };
        for record in records {
            let pid = record.ServiceStatusProcess.dwProcessId;
            if pid == 0 || record.lpServiceName.is_null() {
                continue;
            }
            // SAFETY: lpServiceName points to a NUL-terminated UTF-16 string inside the
            // buffer, which lives until the end of this iteration.
            let name = unsafe { wide_string(record.lpServiceName) };
            by_pid.entry(pid).or_default().push(name);
        }
        if !more {
            break;
        }
        if count == 0 {
            // Not even one record fitted: grow to what the manager asked for.
            let want = (needed as usize).div_ceil(8).max(buffer.len() * 2);
            buffer.resize(want, 0);
        }
    }
    // SAFETY: `manager` was opened above and is closed exactly once.
    unsafe { CloseServiceHandle(manager) };
    for names in by_pid.values_mut() {
        names.sort_unstable();
        names.dedup();
    }
    by_pid
}

/// The services of one process as [`Owner::unit`](crate::model::Owner::unit) holds them:
/// their names joined by `, ` in sorted order (`Dnscache` or `BITS, Schedule`); `None` for
/// a process that hosts no service.
pub(super) fn service_label(services: &HashMap<u32, Vec<String>>, pid: u32) -> Option<String> {
    services.get(&pid).filter(|n| !n.is_empty()).map(|n| n.join(", "))
}

/// Copies a NUL-terminated UTF-16 string (unpaired surrogates become U+FFFD).
///
/// # Safety
/// `p` must point to a readable, NUL-terminated sequence of u16.
unsafe fn wide_string(p: *const u16) -> String {
    let mut len = 0;
    // SAFETY: the caller promises a NUL terminator, so every read up to it is in bounds.
    while unsafe { *p.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: the `len` u16s before the terminator were just read.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(p, len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elevation_can_be_asked() {
        // Either answer is right; the call must not fail or crash, and must agree with
        // itself.
        assert_eq!(elevated(), elevated());
    }

    #[test]
    fn every_service_host_is_a_running_process() {
        let services = services_by_pid();
        eprintln!("{} processes host services", services.len());
        let mut system = sysinfo::System::new().expect("sysinfo works on Windows");
        system.refresh_processes(sysinfo::ProcessesToUpdate::All, false);
        for (pid, names) in &services {
            assert!(!names.is_empty());
            assert!(names.iter().all(|n| !n.is_empty() && !n.contains('\0')), "{names:?}");
            assert!(
                system.process(sysinfo::Pid::from_u32(*pid)).is_some(),
                "service host {pid} ({names:?}) is not a running process"
            );
            assert_eq!(service_label(&services, *pid), Some(names.join(", ")));
        }
        assert_eq!(service_label(&services, 0), None);
    }
}
