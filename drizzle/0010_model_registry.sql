CREATE TYPE "public"."model_state" AS ENUM('registered', 'shadow', 'challenger', 'champion', 'retired');--> statement-breakpoint
CREATE TABLE "models" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"generation" integer DEFAULT 0 NOT NULL,
	"previous_champion" text
);
--> statement-breakpoint
CREATE TABLE "model_versions" (
	"model_id" text NOT NULL,
	"version" text NOT NULL,
	"state" "model_state" NOT NULL,
	"sha256" text NOT NULL,
	"registered_at" timestamp with time zone DEFAULT now() NOT NULL,
	"state_changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_versions_model_id_version_pk" PRIMARY KEY("model_id","version")
);
--> statement-breakpoint
CREATE TABLE "model_bundles" (
	"model_id" text NOT NULL,
	"version" text NOT NULL,
	"archive" "bytea" NOT NULL,
	"uploaded_at" timestamp with time zone DEFAULT now() NOT NULL,
	"uploaded_by" text NOT NULL,
	CONSTRAINT "model_bundles_model_id_version_pk" PRIMARY KEY("model_id","version")
);
--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_bundles" ADD CONSTRAINT "model_bundles_version_fk" FOREIGN KEY ("model_id","version") REFERENCES "public"."model_versions"("model_id","version") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "model_versions_one_champion_idx" ON "model_versions" USING btree ("model_id") WHERE "model_versions"."state" = 'champion';