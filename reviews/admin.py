from django.contrib import admin

from reviews.models import ReviewMeeting


@admin.register(ReviewMeeting)
class ReviewMeetingAdmin(admin.ModelAdmin):
    list_display = ["__str__", "week_start"]
    filter_horizontal = ["attendees"]
    raw_id_fields = ["reviewed_incidents"]
