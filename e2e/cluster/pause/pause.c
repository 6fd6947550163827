/*
 * pause.c - the pod sandbox's "pause" process for the local cluster's node: sleeps forever,
 * reaps children (it is PID 1 of the sandbox), exits cleanly on SIGTERM/SIGINT.
 * Built statically by e2e/cluster/up.sh into a FROM scratch image registry.k8s.io/pause:3.10,
 * because no image registry is reachable here.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig)
{
    (void)sig;
    _exit(0);
}

static void on_child(int sig)
{
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_child;
    sa.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    for (;;)
        pause();
    return 0;
}
