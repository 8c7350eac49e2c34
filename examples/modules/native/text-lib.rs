//! A Rust `wasm32-unknown-unknown` library with its own allocator names (`rs_alloc` / `rs_free`),
//! used through `abi: { alloc: 'rs_alloc', dealloc: 'rs_free' }`. Byte outputs are returned as an
//! i64 `(ptr << 32) | len` that the caller frees with `rs_free(ptr, len)`.
use std::alloc::{alloc, dealloc, Layout};
use std::slice;

#[no_mangle]
pub extern "C" fn rs_alloc(len: usize) -> *mut u8 {
    if len == 0 {
        return 1 as *mut u8;
    }
    match Layout::from_size_align(len, 1) {
        Ok(layout) => unsafe { alloc(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn rs_free(ptr: *mut u8, len: usize) {
    if len != 0 {
        dealloc(ptr, Layout::from_size_align_unchecked(len, 1));
    }
}

unsafe fn input<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        slice::from_raw_parts(ptr, len)
    }
}

fn output(bytes: Vec<u8>) -> u64 {
    let boxed = bytes.into_boxed_slice();
    let len = boxed.len();
    let ptr = Box::into_raw(boxed) as *mut u8;
    ((ptr as u64) << 32) | len as u64
}

/// 64-bit FNV-1a of the bytes.
#[no_mangle]
pub unsafe extern "C" fn fnv1a64(ptr: *const u8, len: usize) -> u64 {
    let mut hash: u64 = 0xcbf29ce484222325;
    for &byte in input(ptr, len) {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x100000001b3);
    }
    hash
}

/// Lower-case hexadecimal of the bytes, as bytes.
#[no_mangle]
pub unsafe extern "C" fn to_hex(ptr: *const u8, len: usize) -> u64 {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let bytes = input(ptr, len);
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(DIGITS[(byte >> 4) as usize]);
        out.push(DIGITS[(byte & 15) as usize]);
    }
    output(out)
}

/// The UTF-8 text with its characters (Unicode scalar values) in reverse order; invalid UTF-8 gives "".
#[no_mangle]
pub unsafe extern "C" fn reverse_text(ptr: *const u8, len: usize) -> u64 {
    let text = std::str::from_utf8(input(ptr, len)).unwrap_or("");
    output(text.chars().rev().collect::<String>().into_bytes())
}
