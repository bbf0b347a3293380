from django.urls import path, re_path

from recommendations import api

urlpatterns = [
    path("recommendations/", api.RecommendationsApi.as_view(), name="api_recommendations"),
    path("ratings/", api.RatingListCreateApi.as_view(), name="api_ratings"),
    # Only ids that fit the database's integer column reach the query; anything else is a 404.
    re_path(r"^ratings/(?P<rating_id>[0-9]{1,18})/$", api.RatingDetailApi.as_view(), name="api_rating"),
]
