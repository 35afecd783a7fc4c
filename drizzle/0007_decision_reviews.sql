CREATE TYPE "public"."final_decision" AS ENUM('approve', 'decline', 'refer');--> statement-breakpoint
CREATE TABLE "decision_reviews" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"prediction_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decision" "final_decision" NOT NULL,
	"reason" text NOT NULL,
	"reviewer" text NOT NULL,
	"reviewer_name" text,
	CONSTRAINT "decision_reviews_reason_check" CHECK (length(btrim("decision_reviews"."reason")) between 3 and 2000)
);
--> statement-breakpoint
ALTER TABLE "decision_reviews" ADD CONSTRAINT "decision_reviews_prediction_id_predictions_id_fk" FOREIGN KEY ("prediction_id") REFERENCES "public"."predictions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "decision_reviews_prediction_idx" ON "decision_reviews" USING btree ("prediction_id","created_at");--> statement-breakpoint
CREATE INDEX "decision_reviews_created_at_idx" ON "decision_reviews" USING btree ("created_at");--> statement-breakpoint
-- Hand-written (drizzle-kit does not model triggers): reviews are append-only, as the audit log is.
-- A change of mind is a new review; the code has no update or delete path, and the database refuses one.
CREATE FUNCTION "decision_reviews_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'decision_reviews is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;--> statement-breakpoint
CREATE TRIGGER "decision_reviews_no_update_delete" BEFORE UPDATE OR DELETE ON "decision_reviews" FOR EACH STATEMENT EXECUTE FUNCTION "decision_reviews_append_only"();
