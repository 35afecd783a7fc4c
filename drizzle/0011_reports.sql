CREATE TABLE "reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"trigger" text DEFAULT 'schedule' NOT NULL,
	"instance" text NOT NULL,
	"requested_by" text,
	"content" jsonb,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	"notified_at" timestamp with time zone,
	CONSTRAINT "reports_kind_check" CHECK ("reports"."kind" in ('daily', 'weekly')),
	CONSTRAINT "reports_status_check" CHECK ("reports"."status" in ('running', 'completed', 'failed')),
	CONSTRAINT "reports_trigger_check" CHECK ("reports"."trigger" in ('schedule', 'manual')),
	CONSTRAINT "reports_period_check" CHECK ("reports"."period_end" > "reports"."period_start")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "reports_kind_period_idx" ON "reports" USING btree ("kind","period_start");--> statement-breakpoint
CREATE INDEX "reports_created_at_idx" ON "reports" USING btree ("created_at");