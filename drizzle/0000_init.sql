CREATE TYPE "public"."channel" AS ENUM('api', 'trpc', 'portal', 'batch');--> statement-breakpoint
CREATE TYPE "public"."decision" AS ENUM('approve', 'review', 'decline');--> statement-breakpoint
CREATE TYPE "public"."role" AS ENUM('admin', 'risk_manager', 'executive', 'viewer', 'scorer');--> statement-breakpoint
CREATE TABLE "users" (
	"id" text PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"name" text NOT NULL,
	"role" "role" DEFAULT 'viewer' NOT NULL,
	"password_hash" text NOT NULL,
	"must_change_password" boolean DEFAULT false NOT NULL,
	"totp_secret" text,
	"totp_enabled" boolean DEFAULT false NOT NULL,
	"failed_logins" integer DEFAULT 0 NOT NULL,
	"locked_until" timestamp with time zone,
	"disabled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"two_factor_verified" boolean DEFAULT false NOT NULL,
	"ip" text,
	"user_agent" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "predictions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"model_id" text NOT NULL,
	"model_version" text NOT NULL,
	"request_id" text NOT NULL,
	"idempotency_key" text,
	"requester" text NOT NULL,
	"channel" "channel" NOT NULL,
	"batch_id" uuid,
	"input" jsonb NOT NULL,
	"probability" double precision NOT NULL,
	"margin" double precision NOT NULL,
	"points" integer NOT NULL,
	"band" text NOT NULL,
	"decision" "decision" NOT NULL,
	"reasons" jsonb NOT NULL,
	"shap" jsonb,
	"base_value" double precision,
	"latency_ms" real NOT NULL
);
--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_lower_idx" ON "users" USING btree (lower("email"));--> statement-breakpoint
CREATE INDEX "users_role_idx" ON "users" USING btree ("role");--> statement-breakpoint
CREATE INDEX "sessions_user_idx" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "predictions_created_at_idx" ON "predictions" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "predictions_model_created_at_idx" ON "predictions" USING btree ("model_id","model_version","created_at");--> statement-breakpoint
CREATE INDEX "predictions_decision_created_at_idx" ON "predictions" USING btree ("decision","created_at");--> statement-breakpoint
CREATE INDEX "predictions_requester_created_at_idx" ON "predictions" USING btree ("requester","created_at");--> statement-breakpoint
CREATE INDEX "predictions_batch_idx" ON "predictions" USING btree ("batch_id") WHERE "predictions"."batch_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "predictions_idempotency_idx" ON "predictions" USING btree ("requester","idempotency_key") WHERE "predictions"."idempotency_key" is not null;