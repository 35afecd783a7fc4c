CREATE TABLE "backtest_predictions" (
	"backtest_id" uuid NOT NULL,
	"prediction_id" uuid NOT NULL,
	"probability" double precision NOT NULL,
	"decision" "decision" NOT NULL,
	"shap_values" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "backtests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"model_id" text NOT NULL,
	"version" text NOT NULL,
	"from" timestamp with time zone NOT NULL,
	"to" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"total" integer NOT NULL,
	"done" integer DEFAULT 0 NOT NULL,
	"skipped" integer DEFAULT 0 NOT NULL,
	"cursor" uuid,
	"requested_by" text NOT NULL,
	"reason" text NOT NULL,
	"instance" text,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "backtests_status_check" CHECK ("backtests"."status" in ('queued', 'running', 'completed', 'failed', 'cancelled'))
);
--> statement-breakpoint
ALTER TABLE "backtest_predictions" ADD CONSTRAINT "backtest_predictions_backtest_id_backtests_id_fk" FOREIGN KEY ("backtest_id") REFERENCES "public"."backtests"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "backtest_predictions" ADD CONSTRAINT "backtest_predictions_prediction_id_predictions_id_fk" FOREIGN KEY ("prediction_id") REFERENCES "public"."predictions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "backtest_predictions_pk_idx" ON "backtest_predictions" USING btree ("backtest_id","prediction_id");--> statement-breakpoint
CREATE INDEX "backtests_model_created_idx" ON "backtests" USING btree ("model_id","created_at");--> statement-breakpoint
CREATE INDEX "backtests_status_idx" ON "backtests" USING btree ("status");