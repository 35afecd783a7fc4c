CREATE TYPE "public"."outcome_source" AS ENUM('api', 'portal', 'csv');--> statement-breakpoint
CREATE TABLE "outcomes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"prediction_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"defaulted" boolean NOT NULL,
	"observed_at" date NOT NULL,
	"loss_amount" numeric(15, 2),
	"note" text,
	"source" "outcome_source" NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	"recorded_by" text NOT NULL,
	"recorded_by_name" text,
	"request_id" text,
	"model_id" text NOT NULL,
	"model_version" text NOT NULL,
	"decided_at" timestamp with time zone NOT NULL,
	CONSTRAINT "outcomes_version_check" CHECK ("outcomes"."version" >= 1),
	CONSTRAINT "outcomes_loss_check" CHECK ("outcomes"."loss_amount" is null or "outcomes"."loss_amount" >= 0),
	CONSTRAINT "outcomes_note_check" CHECK ("outcomes"."note" is null or length("outcomes"."note") <= 500)
);
--> statement-breakpoint
ALTER TABLE "outcomes" ADD CONSTRAINT "outcomes_prediction_id_predictions_id_fk" FOREIGN KEY ("prediction_id") REFERENCES "public"."predictions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "outcomes_prediction_version_idx" ON "outcomes" USING btree ("prediction_id","version");--> statement-breakpoint
CREATE INDEX "outcomes_model_decided_idx" ON "outcomes" USING btree ("model_id","model_version","decided_at");--> statement-breakpoint
-- Hand-written (drizzle-kit does not model triggers): outcomes are append-only, as the audit log is.
-- A correction is a new version; the code has no update or delete path, and the database refuses one.
CREATE FUNCTION "outcomes_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'outcomes is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;--> statement-breakpoint
CREATE TRIGGER "outcomes_no_update_delete" BEFORE UPDATE OR DELETE ON "outcomes" FOR EACH STATEMENT EXECUTE FUNCTION "outcomes_append_only"();
