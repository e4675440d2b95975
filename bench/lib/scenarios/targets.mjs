// Memory limits shared by the scenario targets ("200 MB" read as MiB), in KiB like VmHWM.

export const MEM200 = 200 * 1024;
export const MEM300 = 300 * 1024;
