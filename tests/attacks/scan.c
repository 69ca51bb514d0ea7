/* What a hostile container's root does to the processes it can see: read
 * their environment, command line and memory, looking for what nsscript
 * holds, and try to write their executables. Built static by the tests
 * and run inside a container.
 *
 *   scan all SECRET...      every pid but its own; secrets given reversed
 *                           (so that they are not in anyone's argv as is)
 *   scan stall SECRET       replace /dev/null with a FIFO, wait for a
 *                           process named nsscript to block on it, scan it,
 *                           then let it go
 *   scan wait SECRET        wait for a process named nsscript, scan it,
 *                           then write /done
 *   scan none               nothing (a program to run in the container)
 *
 * One line per process scanned:
 *   pid P comm C cmdline:R environ:R mem:R exe:R found:NAMES
 * where R is "read", "written" or an errno name, and NAMES the secrets
 * found ("-" for none) plus "control" when the process holds the init's
 * own option "--setup" (proof that the memory could be read at all). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *secrets[8];
static int nsecrets;

static const char *ename(int e) {
    switch (e) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EIO: return "EIO";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case ETXTBSY: return "ETXTBSY";
    case EBUSY: return "EBUSY";
    default: return "EOTHER";
    }
}

/* Appends to *found the secrets (and the control word) in buf. */
static void look(const char *buf, size_t n, int *found) {
    for (int i = 0; i < nsecrets; i++)
        if (memmem(buf, n, secrets[i], strlen(secrets[i])))
            found[i] = 1;
    if (memmem(buf, n, "--setup", 7))
        found[nsecrets] = 1;
}

/* A whole small /proc file into buf: its length, or -errno. */
static long slurp(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -errno;
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (r == 0 || (n += r) == cap)
            break;
    }
    close(fd);
    return n;
}

static char big[1 << 20];

/* Every readable mapping of pid through /proc/PID/mem. */
static const char *scan_mem(int pid, int *found) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    int mem = open(path, O_RDONLY);
    if (mem < 0)
        return ename(errno);
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *maps = fopen(path, "r");
    if (!maps) {
        close(mem);
        return ename(errno);
    }
    const char *how = "EIO";
    while (fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r')
            continue;
        for (unsigned long at = lo; at < hi; at += sizeof big) {
            size_t len = hi - at < sizeof big ? hi - at : sizeof big;
            ssize_t r = pread(mem, big, len, at);
            if (r > 0) {
                how = "read";
                look(big, r, found);
            }
        }
    }
    fclose(maps);
    close(mem);
    return how;
}

/* Tries to write one byte into the process's executable. */
static const char *write_exe(int pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return ename(errno);
    ssize_t r = pwrite(fd, "", 1, 0);
    int e = errno;
    close(fd);
    return r == 1 ? "written" : ename(e);
}

static void scan(int pid) {
    char path[64], comm[64] = "?";
    int found[9] = {0};
    static char buf[1 << 16];
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    long n = slurp(path, comm, sizeof comm - 1);
    if (n > 0)
        comm[n - 1] = 0;
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    long c = slurp(path, buf, sizeof buf);
    if (c > 0)
        look(buf, c, found);
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    long e = slurp(path, buf, sizeof buf);
    if (e > 0)
        look(buf, e, found);
    const char *mem = scan_mem(pid, found);
    const char *exe = write_exe(pid);
    printf("pid %d comm %s cmdline:%s environ:%s mem:%s exe:%s found:", pid, comm,
           c >= 0 ? "read" : ename(-c), e >= 0 ? "read" : ename(-e), mem, exe);
    int any = 0;
    for (int i = 0; i <= nsecrets; i++)
        if (found[i]) {
            printf("%s%s", any ? "," : "", i < nsecrets ? secrets[i] : "control");
            any = 1;
        }
    printf("%s\n", any ? "" : "-");
    fflush(stdout);
}

/* The first pid (not ours) whose comm is "nsscript", waiting up to 20 s. */
static int find_nsscript(void) {
    for (int tries = 0; tries < 20000; tries++) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d))) {
            int pid = atoi(de->d_name);
            char path[64], comm[32];
            if (pid <= 0 || pid == getpid())
                continue;
            snprintf(path, sizeof path, "/proc/%d/comm", pid);
            long n = slurp(path, comm, sizeof comm - 1);
            if (n > 0 && strncmp(comm, "nsscript\n", 9) == 0) {
                closedir(d);
                return pid;
            }
        }
        if (d)
            closedir(d);
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return -1;
}

/* Waits until pid has ended (gone, or a zombie): as pid 1 the scanner's
 * exit would kill it. */
static void outlive(int pid) {
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    for (int tries = 0; tries < 20000; tries++) {
        long n = slurp(path, stat, sizeof stat - 1);
        if (n <= 0)
            return;
        stat[n] = 0;
        char *end = strrchr(stat, ')');
        if (end && end[1] == ' ' && end[2] == 'Z')
            return;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    for (int i = 2; i < argc && nsecrets < 8; i++) {
        size_t n = strlen(argv[i]);
        char *s = malloc(n + 1);
        for (size_t j = 0; j < n; j++)
            s[j] = argv[i][n - 1 - j];
        s[n] = 0;
        secrets[nsecrets++] = s;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(argv[1], "none") == 0)
        return 0;
    if (strcmp(argv[1], "all") == 0) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d))) {
            int pid = atoi(de->d_name);
            if (pid > 0 && pid != getpid())
                scan(pid);
        }
        return 0;
    }
    if (strcmp(argv[1], "stall") == 0) {
        unlink("/dev/null");
        if (mkfifo("/dev/null", 0666) < 0) {
            printf("mkfifo: %s\n", ename(errno));
            return 1;
        }
        printf("ready\n");
        int pid = find_nsscript();
        if (pid < 0) {
            printf("no nsscript process came\n");
            return 1;
        }
        scan(pid);
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            close(fd);
        outlive(pid);
        return 0;
    }
    if (strcmp(argv[1], "wait") == 0) {
        printf("ready\n");
        int pid = find_nsscript();
        if (pid < 0)
            printf("no nsscript process came\n");
        else
            scan(pid);
        close(open("/done", O_WRONLY | O_CREAT, 0644));
        if (pid > 0)
            outlive(pid);
        return pid < 0;
    }
    return 2;
}
