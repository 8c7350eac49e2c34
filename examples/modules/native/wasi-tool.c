// A small WASI command (C, wasi-libc) used by the examples and the tests. argv[1] picks what it does:
//   wc            count lines, words and bytes of stdin: "<lines> <words> <bytes>\n"
//   cat           copy stdin to stdout
//   args          print argc, then each argv[i] on its own line
//   env NAME      print the value of NAME, or "(unset)"; exit 1 when unset
//   environ       print every environment variable, one a line
//   open PATH     try to open PATH for reading: print its contents, or "error: <reason>" and exit 2
//   write PATH    try to create PATH: print "written" or "error: <reason>" and exit 2
//   exit N        write "exiting N" to stderr and exit with code N
//   time          print the realtime clock (ns) and 8 random bytes in hex
//   grow MIB      malloc() 1 MiB blocks until MIB or failure; print how many succeeded
//   spin          loop forever
//   flood N       write N bytes of 'x' to stdout
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int wc(void) {
  unsigned long lines = 0, words = 0, bytes = 0;
  int in_word = 0, c;
  while ((c = getchar()) != EOF) {
    bytes++;
    if (c == '\n') lines++;
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
      in_word = 0;
    } else if (!in_word) {
      in_word = 1;
      words++;
    }
  }
  printf("%lu %lu %lu\n", lines, words, bytes);
  return 0;
}

static int cat(void) {
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, stdin)) > 0) fwrite(buffer, 1, n, stdout);
  return 0;
}

static int open_file(const char *path) {
  FILE *file = fopen(path, "r");
  if (file == NULL) {
    printf("error: %s\n", strerror(errno));
    return 2;
  }
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, file)) > 0) fwrite(buffer, 1, n, stdout);
  fclose(file);
  return 0;
}

static int write_file(const char *path) {
  FILE *file = fopen(path, "w");
  if (file == NULL) {
    printf("error: %s\n", strerror(errno));
    return 2;
  }
  fputs("data", file);
  fclose(file);
  printf("written\n");
  return 0;
}

static int show_time(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  unsigned char random[8];
  if (getentropy(random, sizeof random) != 0) return 3;
  printf("%lld ", (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
  for (size_t i = 0; i < sizeof random; i++) printf("%02x", random[i]);
  printf("\n");
  return 0;
}

static char *blocks[4096];

static int grow(int mib) {
  int got = 0;
  unsigned sum = 0;
  for (; got < mib && got < 4096; got++) {
    // Kept in a global and read back, so that the compiler cannot drop the allocation.
    blocks[got] = malloc(1 << 20);
    if (blocks[got] == NULL) break;
    memset(blocks[got], got & 0xff, 1 << 20);
    sum += (unsigned char)blocks[got][got];
  }
  printf("%d\n", got);
  fprintf(stderr, "sum %u\n", sum);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s wc|cat|args|env|environ|open|write|exit|time|grow|spin|flood\n", argv[0]);
    return 64;
  }
  const char *what = argv[1];
  if (strcmp(what, "wc") == 0) return wc();
  if (strcmp(what, "cat") == 0) return cat();
  if (strcmp(what, "args") == 0) {
    printf("%d\n", argc);
    for (int i = 0; i < argc; i++) printf("%s\n", argv[i]);
    return 0;
  }
  if (strcmp(what, "env") == 0 && argc > 2) {
    const char *value = getenv(argv[2]);
    printf("%s\n", value == NULL ? "(unset)" : value);
    return value == NULL ? 1 : 0;
  }
  if (strcmp(what, "environ") == 0) {
    for (char **e = environ; *e != NULL; e++) printf("%s\n", *e);
    return 0;
  }
  if (strcmp(what, "open") == 0 && argc > 2) return open_file(argv[2]);
  if (strcmp(what, "write") == 0 && argc > 2) return write_file(argv[2]);
  if (strcmp(what, "exit") == 0 && argc > 2) {
    int code = atoi(argv[2]);
    fprintf(stderr, "exiting %d\n", code);
    exit(code);
  }
  if (strcmp(what, "time") == 0) return show_time();
  if (strcmp(what, "grow") == 0 && argc > 2) return grow(atoi(argv[2]));
  if (strcmp(what, "spin") == 0) {
    volatile unsigned long n = 0;
    for (;;) n++;
  }
  if (strcmp(what, "flood") == 0 && argc > 2) {
    long n = atol(argv[2]);
    for (long i = 0; i < n; i++) putchar('x');
    return 0;
  }
  fprintf(stderr, "unknown command: %s\n", what);
  return 64;
}
