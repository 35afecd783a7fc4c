CREATE TABLE "drift_counts" (
	"model_id" text NOT NULL,
	"model_version" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"feature" text NOT NULL,
	"slot" smallint NOT NULL,
	"counts" bigint[] NOT NULL,
	CONSTRAINT "drift_counts_model_id_model_version_hour_feature_slot_pk" PRIMARY KEY("model_id","model_version","hour","feature","slot")
);
