/** What one listener counts for the metrics: flows opened, refused by reason, bytes each way. */
export type RejectReason = 'source-range' | 'no-backend' | 'limit';

export class ListenerStats {
  /** Connections (TCP) or flows (UDP) admitted. */
  opened = 0;
  /** Bytes from clients, and to clients, of flows that have ended (live ones are added on read). */
  bytesIn = 0;
  bytesOut = 0;
  readonly rejected: Record<RejectReason, number> = {
    'source-range': 0,
    'no-backend': 0,
    limit: 0,
  };
}

export interface ListenerSnapshot {
  readonly active: number;
  readonly opened: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly rejected: Readonly<Record<RejectReason, number>>;
}
