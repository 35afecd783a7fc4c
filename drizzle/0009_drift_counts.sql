CREATE TABLE "drift_counts" (
	"model_id" text NOT NULL,
	"model_version" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"feature" text NOT NULL,
	"bin" smallint NOT NULL,
	"slot" smallint NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "drift_counts_model_id_model_version_hour_feature_bin_slot_pk" PRIMARY KEY("model_id","model_version","hour","feature","bin","slot")
);
