/*
 * taskmanager.h - `weir taskmanager`: registers its slots with the JobManager, runs the subtasks
 * the JobManager deploys onto them (engine executor), connects edges to other TaskManagers
 * (netchan), forwards checkpoint requests and acknowledgements, and reports its deployments
 * on every heartbeat. Control messages are JSON over HTTP (docs/network.md).
 *
 * Layer: runtime/taskmanager top.
 */
#ifndef WEIR_RT_TASKMANAGER_H
#define WEIR_RT_TASKMANAGER_H

/* Runs until SIGTERM/SIGINT. Returns the process exit code. */
int rt_taskmanager_main(int argc, char **argv);

#endif
