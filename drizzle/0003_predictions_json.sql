ALTER TABLE "predictions" ALTER COLUMN "input" SET DATA TYPE json USING "input"::json;--> statement-breakpoint
ALTER TABLE "predictions" ALTER COLUMN "reasons" SET DATA TYPE json USING "reasons"::json;--> statement-breakpoint
ALTER TABLE "predictions" ALTER COLUMN "shap" SET DATA TYPE json USING "shap"::json;