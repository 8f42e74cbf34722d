// The views of notification targets and deliveries that /api/admin/notifications and the Notifications
// page show: defined once, times as ISO strings. Never a secret (URLs with tokens, passwords).
export interface NotificationTargetView {
  id: string;
  name: string;
  kind: "discord" | "webhook" | "email";
  /** Where it goes, without secrets: the URL's host, or the SMTP server and recipients. */
  destination: string;
  /** Event kinds it receives; empty: every kind. */
  events: string[];
  enabled: boolean;
  createdBy: string;
  createdAt: string;
  lastDelivery: { status: string; at: string; error: string | null } | null;
}

export interface NotificationDeliveryView {
  id: string;
  targetId: string;
  eventKind: string;
  status: "queued" | "sent" | "failed";
  attempts: number;
  error: string | null;
  createdAt: string;
  sentAt: string | null;
}

/** The answer to creating a target: the view, and for a webhook its signing secret (shown this once). */
export interface CreatedTargetView extends NotificationTargetView {
  signingSecret?: string;
}
