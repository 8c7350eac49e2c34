// A WASI reactor (C, wasi-libc, -mexec-model=reactor): its CRC-32 table is built by a constructor,
// which only runs when the host calls _initialize. Exports malloc/free as its allocator.
#include <stdint.h>
#include <stdlib.h>

static uint32_t table[256];

__attribute__((constructor)) static void build_table(void) {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
}

/** CRC-32 (IEEE 802.3, as zlib) of `len` bytes at `data`. */
__attribute__((export_name("crc32"))) uint32_t crc32(const uint8_t *data, size_t len) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

/** The table entry n, to show whether the constructor ran (0 for n > 0 when it did not). */
__attribute__((export_name("table_entry"))) uint32_t table_entry(uint32_t n) { return table[n & 0xFF]; }

__attribute__((export_name("malloc"))) void *exported_malloc(size_t size) { return malloc(size); }
__attribute__((export_name("free"))) void exported_free(void *ptr) { free(ptr); }
