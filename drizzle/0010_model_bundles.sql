CREATE TABLE "model_bundles" (
	"model_id" text NOT NULL,
	"version" text NOT NULL,
	"archive" "bytea" NOT NULL,
	"uploaded_at" timestamp with time zone DEFAULT now() NOT NULL,
	"uploaded_by" text NOT NULL,
	CONSTRAINT "model_bundles_model_id_version_pk" PRIMARY KEY("model_id","version")
);
--> statement-breakpoint
ALTER TABLE "model_bundles" ADD CONSTRAINT "model_bundles_version_fk" FOREIGN KEY ("model_id","version") REFERENCES "public"."model_versions"("model_id","version") ON DELETE no action ON UPDATE no action;