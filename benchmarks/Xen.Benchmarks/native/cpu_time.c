/*
 * The CPU time of one program (VchanFigures): runs it, waits for it with wait4, and prints its user and system time
 * as the last line of standard output, then exits with its status. The vchan figures start every end of a vchan
 * through this, libxenvchan's and ours alike, so each one's CPU time is read the same way once it has exited (the
 * .NET parent reaps its children itself and cannot ask for their rusage).
 *
 *   cpu_time [-c CPU] PROGRAM [ARG...]   prints "rusage USER_US SYSTEM_US" after PROGRAM's own output
 *
 * -c CPU runs PROGRAM (every thread of it) on that CPU only: the figures' "one CPU per domain" placement.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static long long us(struct timeval t)
{
    return (long long)t.tv_sec * 1000000LL + t.tv_usec;
}

int main(int argc, char **argv)
{
    struct rusage ru;
    int status;
    pid_t pid;

    if (argc > 3 && !strcmp(argv[1], "-c")) {
        cpu_set_t cpus;
        CPU_ZERO(&cpus);
        CPU_SET(atoi(argv[2]), &cpus);
        if (sched_setaffinity(0, sizeof cpus, &cpus) != 0) {
            perror("cpu_time: sched_setaffinity");
            return 2;
        }
        argv += 2, argc -= 2;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: cpu_time [-c CPU] PROGRAM [ARG...]\n");
        return 2;
    }
    pid = fork();
    if (pid < 0) {
        perror("cpu_time: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) {
            perror("cpu_time: wait4");
            return 2;
        }
    printf("rusage %lld %lld\n", us(ru.ru_utime), us(ru.ru_stime));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
