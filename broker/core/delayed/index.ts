export {
  DELAYED_EXCHANGE_TYPE,
  MAX_DELAY_MS,
  delayHeader,
  delayOf,
  delayedTypeOf,
  dueProperties,
  isKnownExchangeType,
  routingTableFor,
  routingTypeOf,
  validateDelayedArguments,
} from './exchange-type'
export { DelayedScheduler, type DelayedSchedulerOptions } from './scheduler'
export { ScheduledExchange, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type ScheduledDetail, type ScheduledPage, type ScheduledSummary, type ScheduledTimeline } from './scheduled-exchange'
export { UnroutedLog, type DueOutcome, type UnroutedLogOptions, type UnroutedReason, type UnroutedRecord } from './unrouted'
