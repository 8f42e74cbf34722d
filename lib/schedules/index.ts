// The scheduler's public face: schedules (CRUD, run now, history) and the poll loop.
export { startScheduler, type SchedulerHandle, type StartSchedulerOptions } from "./scheduler";
export {
  createSchedule,
  deleteSchedule,
  getSchedule,
  getScheduleHistory,
  listSchedules,
  runAsUsers,
  resumeScheduleRun,
  runScheduleNow,
  targetChoices,
  setScheduleEnabled,
  updateSchedule,
} from "./service";
export type { RunView, ScheduleView, TargetChoices } from "./types";
export { createScheduleBody, updateScheduleBody, type CreateScheduleInput, type UpdateScheduleInput } from "./rules";
export { listTargetKinds, TARGET_KINDS, type TargetKind } from "./targets";
