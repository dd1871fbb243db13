CREATE TABLE "organization_quotas" (
	"organization_id" text PRIMARY KEY NOT NULL,
	"history_bytes" bigint,
	"channels" integer,
	"connections" integer,
	"subscriptions" integer,
	"publishes_per_second" integer,
	"publish_bytes_per_second" bigint,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "organization_quotas_positive" CHECK (("organization_quotas"."history_bytes" IS NULL OR "organization_quotas"."history_bytes" > 0) AND ("organization_quotas"."channels" IS NULL OR "organization_quotas"."channels" > 0) AND ("organization_quotas"."connections" IS NULL OR "organization_quotas"."connections" > 0) AND ("organization_quotas"."subscriptions" IS NULL OR "organization_quotas"."subscriptions" > 0) AND ("organization_quotas"."publishes_per_second" IS NULL OR "organization_quotas"."publishes_per_second" > 0) AND ("organization_quotas"."publish_bytes_per_second" IS NULL OR "organization_quotas"."publish_bytes_per_second" > 0))
);
--> statement-breakpoint
ALTER TABLE "channels" ADD COLUMN "encrypted" boolean DEFAULT false NOT NULL;