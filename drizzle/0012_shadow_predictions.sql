CREATE TABLE "shadow_predictions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"prediction_id" uuid NOT NULL,
	"model_id" text NOT NULL,
	"shadow_version" text NOT NULL,
	"champion_version" text NOT NULL,
	"probability" double precision NOT NULL,
	"decision" "decision" NOT NULL,
	"shap_values" "bytea" NOT NULL,
	"decided_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "model_versions" ADD COLUMN "state_before_shadow" "model_state";--> statement-breakpoint
ALTER TABLE "shadow_predictions" ADD CONSTRAINT "shadow_predictions_prediction_id_predictions_id_fk" FOREIGN KEY ("prediction_id") REFERENCES "public"."predictions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "shadow_predictions_model_decided_idx" ON "shadow_predictions" USING btree ("model_id","shadow_version","decided_at");--> statement-breakpoint
CREATE INDEX "shadow_predictions_prediction_idx" ON "shadow_predictions" USING btree ("prediction_id");