"""overview: regions (city/province) above counties, evaluators per region, county roadmaps
(plan, measures, projects, enrolment projection)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["regions.id"], name=op.f("fk_regions_parent_id_regions"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regions")),
        sa.UniqueConstraint("code", name=op.f("uq_regions_code")),
    )
    op.create_table(
        "region_counties",
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["county_id"], ["counties.id"], name=op.f("fk_region_counties_county_id_counties"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name=op.f("fk_region_counties_region_id_regions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("region_id", "county_id", name=op.f("pk_region_counties")),
    )
    op.create_table(
        "evaluator_regions",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name=op.f("fk_evaluator_regions_region_id_regions"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_evaluator_regions_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "region_id", name=op.f("pk_evaluator_regions")),
    )
    op.create_table(
        "county_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("target_year", sa.Integer(), nullable=False),
        sa.Column("baseline_evaluation_id", sa.Integer(), nullable=True),
        sa.Column("source_name", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["baseline_evaluation_id"], ["evaluations.id"],
                                name=op.f("fk_county_plans_baseline_evaluation_id_evaluations"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["county_id"], ["counties.id"], name=op.f("fk_county_plans_county_id_counties"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_county_plans_updated_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_county_plans")),
        sa.UniqueConstraint("county_id", name=op.f("uq_county_plans_county_id")),
    )
    op.create_table(
        "plan_measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(["county_id"], ["counties.id"], name=op.f("fk_plan_measures_county_id_counties"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_measures")),
        sa.UniqueConstraint("county_id", "item_code", "year", name=op.f("uq_plan_measures_county_id_item_code_year")),
    )
    with op.batch_alter_table("plan_measures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_measures_county_id"), ["county_id"], unique=False)
    op.create_table(
        "plan_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("school_code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("school_name", sa.String(length=200), nullable=False),
        sa.Column("school_type", sa.String(length=20), nullable=False),
        sa.Column("locality", sa.String(length=10), nullable=False),
        sa.Column("seats_primary", sa.Integer(), nullable=False),
        sa.Column("seats_junior", sa.Integer(), nullable=False),
        sa.Column("transfer_schools", sa.String(length=400), nullable=False),
        sa.Column("quantities", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["county_id"], ["counties.id"], name=op.f("fk_plan_projects_county_id_counties"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_projects")),
    )
    with op.batch_alter_table("plan_projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_projects_county_id"), ["county_id"], unique=False)
    op.create_table(
        "enrolment_projections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("school_code", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("students_primary", sa.Integer(), nullable=True),
        sa.Column("students_junior", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["county_id"], ["counties.id"],
                                name=op.f("fk_enrolment_projections_county_id_counties"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_projections")),
        sa.UniqueConstraint("county_id", "school_code", "year", name=op.f("uq_enrolment_projections_county_id_school_code_year")),
    )
    with op.batch_alter_table("enrolment_projections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_projections_county_id"), ["county_id"], unique=False)


def downgrade() -> None:
    for table in ("enrolment_projections", "plan_projects", "plan_measures"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_county_id"))
    for table in ("enrolment_projections", "plan_projects", "plan_measures", "county_plans", "evaluator_regions",
                  "region_counties", "regions"):
        op.drop_table(table)
