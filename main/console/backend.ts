/**
 * What the contract's handlers need from a broker. One implementation (management-backend.ts) serves a remote
 * RabbitMQ and the embedded broker alike, since the embedded broker's HTTP API is RabbitMQ-compatible.
 */
import type {
  BindingSpec,
  BrowseRequest,
  BrowseResult,
  BrowsedMessage,
  ChannelInfo,
  ConnectionInfo,
  ExchangeDetails,
  ExchangeSpec,
  ExchangeSummary,
  GetRequest,
  ListRequest,
  ObjectRef,
  Overview,
  OverviewTick,
  Page,
  ProfileTestResult,
  PublishRequest,
  PublishResult,
  QueueDetails,
  QueueSpec,
  QueueSummary,
} from '../contract'

export interface BrokerBackend {
  test(): Promise<ProfileTestResult>
  overview(): Promise<Overview>
  tick(): Promise<OverviewTick>
  vhosts(): Promise<string[]>
  listExchanges(req: ListRequest): Promise<Page<ExchangeSummary>>
  getExchange(ref: ObjectRef): Promise<ExchangeDetails>
  createExchange(spec: ExchangeSpec): Promise<void>
  deleteExchange(ref: ObjectRef, ifUnused?: boolean): Promise<void>
  listQueues(req: ListRequest): Promise<Page<QueueSummary>>
  getQueue(ref: ObjectRef): Promise<QueueDetails>
  createQueue(spec: QueueSpec): Promise<void>
  deleteQueue(ref: ObjectRef, options?: { ifUnused?: boolean; ifEmpty?: boolean }): Promise<void>
  purgeQueue(ref: ObjectRef): Promise<void>
  createBinding(spec: BindingSpec): Promise<void>
  deleteBinding(spec: BindingSpec & { propertiesKey: string }): Promise<void>
  browse(req: BrowseRequest): Promise<BrowseResult>
  get(req: GetRequest): Promise<BrowsedMessage[]>
  publish(req: PublishRequest): Promise<PublishResult>
  listConnections(req: ListRequest): Promise<Page<ConnectionInfo>>
  closeConnection(name: string, reason?: string): Promise<void>
  listChannels(req: ListRequest): Promise<Page<ChannelInfo>>
  /** closes one channel; only the embedded broker can (UNSUPPORTED elsewhere) */
  closeChannel(name: string, reason?: string): Promise<void>
  close(): Promise<void>
}
