/* The floor for nsscript's spawn: the same kernel work in plain C, with no
 * interpreter. For each iteration: clone with the namespace flags, the
 * child waits on a pipe while the parent writes setgroups/uid_map/gid_map,
 * the child makes / private and mounts /proc (when asked), execs /bin/true,
 * and the parent waits for exec (CLOEXEC pipe EOF) and for the exit.
 *
 * usage: floor SET N [MB [fork|vm]]
 *   SET   none|user|mount|uts|ipc|pid|net|cgroup|full
 *         (full = user,uts,ipc,pid,net,mount + /proc)
 *   MB    memory the process holds (touched) while it spawns; default 0
 *   fork  the child is a copy of the process (fork semantics; default)
 *   vm    the child runs in the process's memory on a stack of its own
 *         (CLONE_VM, as posix_spawn does; no CLONE_VFORK: the parent
 *         writes the maps while the child waits)
 * Prints the mean microseconds per spawn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        perror(path);
        exit(1);
    }
    close(fd);
}

static int flags_for(const char *set, int *proc) {
    *proc = 0;
    if (!strcmp(set, "none")) return 0;
    if (!strcmp(set, "user")) return CLONE_NEWUSER;
    if (!strcmp(set, "mount")) return CLONE_NEWNS;
    if (!strcmp(set, "uts")) return CLONE_NEWUTS;
    if (!strcmp(set, "ipc")) return CLONE_NEWIPC;
    if (!strcmp(set, "pid")) return CLONE_NEWPID;
    if (!strcmp(set, "net")) return CLONE_NEWNET;
    if (!strcmp(set, "cgroup")) return CLONE_NEWCGROUP;
    if (!strcmp(set, "full")) {
        *proc = 1;
        return CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS;
    }
    fprintf(stderr, "unknown set %s\n", set);
    exit(2);
}

struct child_args { int flags, proc, go[2], rep[2]; };

static int child_main(void *p) {
    struct child_args *a = p;
    char b;
    close(a->go[1]);
    close(a->rep[0]);
    if (read(a->go[0], &b, 1) != 1) _exit(127);
    if (a->flags & CLONE_NEWNS) {
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) _exit(126);
        if (a->proc && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) _exit(125);
    }
    char *argv[] = {"/bin/true", NULL};
    char *envp[] = {NULL};
    execve("/bin/true", argv, envp);
    _exit(127);
}

static char stack[256 * 1024] __attribute__((aligned(16)));

static void spawn_one(int flags, int proc, uid_t uid, gid_t gid, int vm) {
    struct child_args a = {.flags = flags, .proc = proc};
    int *go = a.go, *rep = a.rep;
    if (pipe2(go, O_CLOEXEC) || pipe2(rep, O_CLOEXEC)) { perror("pipe"); exit(1); }
    pid_t pid;
    if (vm) {
        /* glibc's clone() wrapper: the child starts in child_main on the
         * stack given (the top: stacks grow down). */
        pid = clone(child_main, stack + sizeof stack, CLONE_VM | flags | SIGCHLD, &a);
    } else {
        pid = (pid_t)syscall(SYS_clone, (long)(flags | SIGCHLD), 0L, 0L, 0L, 0L);
        if (pid == 0) child_main(&a);
    }
    if (pid < 0) { perror("clone"); exit(1); }
    close(go[0]);
    close(rep[1]);
    if (flags & CLONE_NEWUSER) {
        char path[64], map[64];
        snprintf(path, sizeof path, "/proc/%d/setgroups", pid);
        write_file(path, "deny");
        snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
        snprintf(map, sizeof map, "0 %u 1\n", uid);
        write_file(path, map);
        snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
        snprintf(map, sizeof map, "0 %u 1\n", gid);
        write_file(path, map);
    }
    if (write(go[1], "g", 1) != 1) { perror("release"); exit(1); }
    close(go[1]);
    char buf[16];
    while (read(rep[0], buf, sizeof buf) > 0) {}
    close(rep[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "child failed: %d\n", st);
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5) { fprintf(stderr, "usage: floor SET N [MB [fork|vm]]\n"); return 2; }
    int proc, flags = flags_for(argv[1], &proc);
    long n = atol(argv[2]);
    long mb = argc > 3 ? atol(argv[3]) : 0;
    int vm = argc > 4 && !strcmp(argv[4], "vm");
    if (argc > 4 && !vm && strcmp(argv[4], "fork")) { fprintf(stderr, "mode is fork or vm\n"); return 2; }
    /* Memory the process holds, every page touched, as a script holding
     * data would. */
    char *ballast = mb ? malloc((size_t)mb << 20) : NULL;
    if (mb && !ballast) { perror("malloc"); return 1; }
    if (ballast) memset(ballast, 1, (size_t)mb << 20);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) spawn_one(flags, proc, geteuid(), getegid(), vm);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / (double)n;
    printf("%.1f\n", us);
    return 0;
}
