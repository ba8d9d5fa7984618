"""City/province overview of many counties, each county's roadmap, its projection to the target
year and the tracking of each year against the plan. The blueprint lives in ``views`` (this
package is imported by survey.models for its tables, before any view can be)."""
